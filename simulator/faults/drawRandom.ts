import type { Random } from '../../server/ports/Random.ts';

/** Uniform integer in [min, max]. */
export function between(r: Random, min: number, max: number): number {
  return max <= min ? min : min + r.nextInt(max - min + 1);
}

export function pick<T>(r: Random, options: readonly T[]): T {
  return options[r.nextInt(options.length)]!;
}

export function roundTo(value: number, step: number): number {
  return Math.round(value / step) * step;
}

/** A window of whole 100 ms from 1 s up to `maxMs` (at least 1 s). */
export function windowMs(r: Random, maxMs: number): number {
  return roundTo(between(r, 1000, Math.max(1000, maxMs)), 100);
}
