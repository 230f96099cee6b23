// The one place that draws a seed from outside the program, for live runs without --seed.
import { randomInt } from 'node:crypto';

export function systemRandomSeed(): number {
  return randomInt(0, 2 ** 31);
}
