import type { Random } from '../../server/ports/Random.ts';

/**
 * Exponential backoff with full jitter (AWS architecture blog): the delay before attempt n
 * is uniform in [0, min(cap, base * 2^n)]. Full jitter spreads a reconnect storm of
 * thousands of phones evenly instead of letting them return in synchronized waves.
 */
export function fullJitterDelayMs(attempt: number, baseMs: number, capMs: number, random: Random): number {
  return random.nextFloat() * backoffBoundMs(attempt, baseMs, capMs);
}

/** The upper bound of the full-jitter delay for `attempt` (0-based). */
export function backoffBoundMs(attempt: number, baseMs: number, capMs: number): number {
  // 2^attempt overflows to Infinity past ~1000; min() with the cap keeps it finite.
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 62));
}
