import type { Clock } from '../ports/Clock.ts';

/**
 * A machine's wall clock that is off: `base` plus an offset (a skew) that `step` moves either
 * way (an NTP step, a clock-jump fault). For a chat server's `clock`, which stamps messages and
 * never measures a duration (server/ports/Clock.ts); its timers stay on `base`'s time source.
 */
export class OffsetClock implements Clock {
  private offsetMs: number;

  constructor(private readonly base: Clock, offsetMs = 0) {
    this.offsetMs = offsetMs;
  }

  nowMs(): number {
    return this.base.nowMs() + this.offsetMs;
  }

  step(byMs: number): void {
    this.offsetMs += byMs;
  }

  get currentOffsetMs(): number {
    return this.offsetMs;
  }
}
