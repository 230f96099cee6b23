import type { Random } from '../../server/ports/Random.ts';

/** Limits of the link model, with units. */
export interface LinkOptions {
  /**
   * How long a link the phone gave up on (half-open, offline, switched away) keeps its inner
   * socket open and silent. A real half-open TCP connection lives until the server's heartbeat
   * timeout notices; the gateway usually closes it first, this is the backstop.
   */
  lingerMs: number;
  /** How long a connect attempt takes to fail while the phone is offline (no route: fast). */
  offlineConnectFailMs: number;
  /** One-way delays are base + jitter x Exp(1), capped at this many jitters (a long but finite tail). */
  jitterTailMax: number;
}

export const DEFAULT_LINK_OPTIONS: LinkOptions = {
  lingerMs: 60_000,
  offlineConnectFailMs: 200,
  jitterTailMax: 8,
};

/** Counters for tests and metrics; each fault counts only when it hit a link (stalls always). */
export interface LinkStats {
  framesDelayed: number;
  framesDropped: number;
  stalls: number;
  halfOpens: number;
  resets: number;
  offlineWindows: number;
  switches: number;
}

export function emptyStats(): LinkStats {
  return { framesDelayed: 0, framesDropped: 0, stalls: 0, halfOpens: 0, resets: 0, offlineWindows: 0, switches: 0 };
}

/**
 * One propagation delay: base + jitter x E with E ~ Exp(1), capped at `tailMax`.
 *
 * Why a shifted exponential: mobile RTTs have a hard floor (distance, radio scheduling) and a
 * long right tail (retransmissions, queueing in the RAN), and almost never come in under the
 * floor. A normal clipped at 0 would put half the frames below `base` and has no tail. With
 * this choice `base` is the minimum, `base + jitter` the mean, and p99 is about base + 4.6 jitter.
 */
export function drawDelayMs(latency: { base: number; jitter: number }, random: Random, tailMax: number): number {
  if (latency.jitter <= 0) return latency.base;
  const e = -Math.log(1 - random.nextFloat());
  return latency.base + latency.jitter * Math.min(tailMax, e);
}

/** Time to put `bytes` on a link of `bytesPerSec` (0 = unlimited). */
export function serializationMs(bytes: number, bytesPerSec: number): number {
  return bytesPerSec > 0 ? (bytes * 1000) / bytesPerSec : 0;
}

/**
 * One direction of one link: frames are serialized one after another at the bandwidth, then
 * travel for their own delay, and never overtake each other (TCP is in order), so a frame
 * arrives at max(previous arrival, end of its serialization + its delay).
 */
export class DirectionTimeline {
  private busyUntilMs = 0;
  private lastDueMs = 0;

  constructor(private readonly bytesPerSec: number) {}

  /** When a frame of `bytes`, handed over at `nowMs` with propagation `delayMs`, arrives. */
  dueAtMs(nowMs: number, bytes: number, delayMs: number): number {
    const startMs = Math.max(nowMs, this.busyUntilMs);
    this.busyUntilMs = startMs + serializationMs(bytes, this.bytesPerSec);
    this.lastDueMs = Math.max(this.lastDueMs, this.busyUntilMs + delayMs);
    return this.lastDueMs;
  }
}
