/** Bucket index that holds exact zeros (log scale has no place for them). */
const ZERO_BUCKET = -1;

/**
 * A sparse log-scale histogram: bucket i holds values in [10^(i/n), 10^((i+1)/n)) for n
 * buckets per decade. It only draws the bars of a histogram chart; it answers no percentile
 * (HdrStats is chatsim's one percentile engine).
 */
export class LogBuckets {
  private readonly counts = new Map<number, number>();
  private total = 0;

  constructor(private readonly perDecade: number) {}

  get count(): number {
    return this.total;
  }

  add(value: number, by = 1): void {
    const index = value < 1 ? ZERO_BUCKET : Math.floor(Math.log10(value) * this.perDecade + 1e-9);
    this.counts.set(index, (this.counts.get(index) ?? 0) + by);
    this.total += by;
  }

  addAll(encoded: Record<string, number>): void {
    for (const [index, count] of Object.entries(encoded)) {
      const i = Number(index);
      this.counts.set(i, (this.counts.get(i) ?? 0) + count);
      this.total += count;
    }
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /**
   * Buckets in ascending order from the first to the last non-empty one, empty ones between
   * included so a chart's gaps show; bounds rounded to 3 significant digits.
   */
  bars(): Array<{ lowMs: number; highMs: number; count: number }> {
    const indexes = this.sortedIndexes();
    if (indexes.length === 0) return [];
    const bars: Array<{ lowMs: number; highMs: number; count: number }> = [];
    for (let index = indexes[0]!; index <= indexes.at(-1)!; index++) {
      bars.push({ lowMs: this.low(index), highMs: this.low(index + 1), count: this.counts.get(index) ?? 0 });
    }
    return bars;
  }

  private sortedIndexes(): number[] {
    return [...this.counts.keys()].sort((a, b) => a - b);
  }

  private low(index: number): number {
    if (index === ZERO_BUCKET) return 0;
    if (index === ZERO_BUCKET + 1) return 1;
    return Number((10 ** (index / this.perDecade)).toPrecision(3));
  }
}
