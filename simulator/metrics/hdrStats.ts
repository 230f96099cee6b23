import { build, type Histogram } from 'hdr-histogram-js';

/** Highest value a histogram tracks: one hour in ms; larger samples are clamped to it. */
export const HDR_HIGHEST_TRACKABLE = 3_600_000;
/** Three significant digits: a percentile is within 0.1 % of the exact sample. */
const SIGNIFICANT_DIGITS = 3;

/** Statistics of one set of samples; every field null when there were none (a gate must not read 0 as perfect). */
export interface SampleStats {
  count: number;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  'p99.9': number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
}

/**
 * The one percentile engine of chatsim: an HDR histogram (hdr-histogram-js) per set of samples,
 * as Metrics uses for the run's histograms. Checkers, tagged breakdowns and the time series
 * all answer percentiles through it, so one run cannot give two p99s for one thing.
 */
export class HdrStats {
  private readonly histogram: Histogram;
  private minValue = Infinity;
  private maxValue = -Infinity;

  constructor() {
    this.histogram = build({ useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: HDR_HIGHEST_TRACKABLE, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, autoResize: true, bitBucketSize: 'packed' });
  }

  static of(values: Iterable<number>): HdrStats {
    const stats = new HdrStats();
    for (const v of values) stats.record(v);
    return stats;
  }

  /** Integers in 0..1 h: sub-ms values round, negative ones (clock steps) count as 0. */
  record(value: number): void {
    const v = !Number.isFinite(value) ? (value > 0 ? HDR_HIGHEST_TRACKABLE : 0) : Math.min(HDR_HIGHEST_TRACKABLE, Math.max(0, Math.round(value)));
    this.histogram.recordValue(v);
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** The value at percentile p (0..100), clamped to the exact min and max; null without samples. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    // HDR answers a bucket's highest equivalent value, which may pass the exact max.
    return Math.min(this.maxValue, Math.max(this.minValue, this.histogram.getValueAtPercentile(p)));
  }

  stats(): SampleStats {
    if (this.count === 0) return { count: 0, p50: null, p90: null, p95: null, p99: null, 'p99.9': null, min: null, max: null, mean: null };
    return {
      count: this.count, p50: this.percentile(50), p90: this.percentile(90), p95: this.percentile(95), p99: this.percentile(99), 'p99.9': this.percentile(99.9),
      min: this.minValue, max: this.maxValue, mean: Math.round(this.histogram.mean * 1000) / 1000,
    };
  }
}
