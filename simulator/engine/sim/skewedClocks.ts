import type { Clock } from '../../../server/ports/Clock.ts';
import type { Random } from '../../../server/ports/Random.ts';

/**
 * The fixed skew of the chat server in slot `index`: a whole number of ms, uniform in
 * [-maxMs, +maxMs], from a stream forked from `random` by the slot alone (`clock-skew:<index>`),
 * so a seed always skews the same machine the same way and adding a server leaves the others.
 */
export function drawClockSkewMs(random: Random, index: number, maxMs: number): number {
  if (!(Number.isInteger(maxMs) && maxMs >= 0)) throw new Error(`clock skew must be whole ms >= 0, got ${maxMs}`);
  if (maxMs === 0) return 0;
  return random.fork(`clock-skew:${index}`).nextInt(2 * maxMs + 1) - maxMs;
}

/**
 * A clock a fixed `skewMs` off `base`, as an unsynchronised machine's. It never decreases
 * when `base` does not (the Clock contract), and durations measured on it are `base`'s.
 */
export class SkewedClock implements Clock {
  constructor(private readonly base: Clock, readonly skewMs: number) {}

  nowMs(): number {
    return this.base.nowMs() + this.skewMs;
  }
}

/**
 * The Cluster's `chatServerClock` for the simulation: each chat server slot (a machine; a
 * restarted server keeps its slot's clock) reads `base` off by its own drawn skew.
 */
export function skewedChatServerClocks(base: Clock, random: Random, maxMs: number): (server: { index: number }) => SkewedClock {
  const clocks = new Map<number, SkewedClock>();
  return ({ index }) => {
    let clock = clocks.get(index);
    if (!clock) {
      clock = new SkewedClock(base, drawClockSkewMs(random, index, maxMs));
      clocks.set(index, clock);
    }
    return clock;
  };
}
