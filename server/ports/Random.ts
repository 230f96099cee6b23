/**
 * Randomness, as the logic sees it.
 *
 * Contract: a deterministic stream for a given seed. `fork(label)` derives an independent
 * stream from this one's seed and the label only (not from how much of this stream was
 * consumed), so adding or removing one consumer never changes the others' draws.
 */
export interface Random {
  /** Uniform in [0, 1). */
  nextFloat(): number;
  /** Uniform integer in [0, bound). `bound` is a positive integer. */
  nextInt(bound: number): number;
  fork(label: string): Random;
}
