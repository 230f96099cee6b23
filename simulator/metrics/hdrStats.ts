import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

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

/** A histogram shipped between threads: HDR's compressed form plus the exact extremes. */
export interface EncodedHdr {
  hdr: string;
  min: number;
  max: number;
}

/** Histograms hold integers in 0..1 h: sub-ms samples round, negative ones (clock steps) count as 0. */
export function clampSample(value: number): number {
  if (!Number.isFinite(value)) return value > 0 ? HDR_HIGHEST_TRACKABLE : 0;
  return Math.min(HDR_HIGHEST_TRACKABLE, Math.max(0, Math.round(value)));
}

/** The equivalence ranges of an HDR histogram of this shape (lowest 1, 3 digits): the arithmetic only. */
interface Equivalence {
  lowestEquivalentValue(value: number): number;
  highestEquivalentValue(value: number): number;
  medianEquivalentValue(value: number): number;
}

/** A histogram never recorded into, asked only for its equivalence ranges (JsHistogram has them). */
const SHAPE = build({ useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: HDR_HIGHEST_TRACKABLE, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, autoResize: true, bitBucketSize: 'packed' }) as unknown as Equivalence;

/** hdr-histogram-js's own ulp (dist/ulp.js), so the count at a percentile rounds as it does. */
const ulp = (x: number): number => 2 ** (Math.floor(Math.log2(x)) - 52);

/**
 * The one percentile engine of chatsim: HDR histogram answers (hdr-histogram-js, three
 * significant digits), as Metrics uses for the run's histograms. Checkers, tagged breakdowns and
 * the time series all answer percentiles through it, so one run cannot give two p99s for one
 * thing.
 *
 * It keeps the samples and answers exactly what a packed HDR histogram of them answers (the
 * k-th smallest sample's equivalence range, the mean over ranges in ascending order), without
 * one: a packed histogram walks its whole counts array per percentile, and the per-second time
 * series asks thousands of them per run (issue 14: 85 % of a swarm seed's CPU, seed 99 of the
 * block). test/metrics/hdrStats.test.ts holds it to hdr-histogram-js on random samples.
 */
export class HdrStats {
  private readonly values: number[] = [];
  private sorted = true;
  private minValue = Infinity;
  private maxValue = -Infinity;

  static of(values: Iterable<number>): HdrStats {
    const stats = new HdrStats();
    for (const v of values) stats.record(v);
    return stats;
  }

  /** Integers in 0..1 h: sub-ms values round, negative ones (clock steps) count as 0. */
  record(value: number): void {
    const v = !Number.isFinite(value) ? (value > 0 ? HDR_HIGHEST_TRACKABLE : 0) : Math.min(HDR_HIGHEST_TRACKABLE, Math.max(0, Math.round(value)));
    if (v < this.maxValue) this.sorted = false;
    this.values.push(v);
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.values.length;
  }

  /** The value at percentile p (0..100), clamped to the exact min and max; null without samples. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    // HdrHistogram's getValueAtPercentile: the bucket holding the countAtPercentile-th sample.
    const fpCount = (Math.min(p, 100) / 100) * this.count;
    const countAtPercentile = Math.max(Math.ceil(fpCount - ulp(fpCount)), 1);
    const sample = this.ordered()[Math.min(countAtPercentile, this.count) - 1]!;
    const value = p === 0 ? SHAPE.lowestEquivalentValue(sample) : SHAPE.highestEquivalentValue(sample);
    // HDR answers a bucket's highest equivalent value, which may pass the exact max.
    return Math.min(this.maxValue, Math.max(this.minValue, value));
  }

  stats(): SampleStats {
    if (this.count === 0) return { count: 0, p50: null, p90: null, p95: null, p99: null, 'p99.9': null, min: null, max: null, mean: null };
    return {
      count: this.count, p50: this.percentile(50), p90: this.percentile(90), p95: this.percentile(95), p99: this.percentile(99), 'p99.9': this.percentile(99.9),
      min: this.minValue, max: this.maxValue, mean: Math.round(this.mean() * 1000) / 1000,
    };
  }

  /** HdrHistogram's mean: each recorded range's median value times its count, ranges in ascending order. */
  private mean(): number {
    const values = this.ordered();
    let total = 0;
    for (let i = 0; i < values.length;) {
      const low = SHAPE.lowestEquivalentValue(values[i]!);
      let j = i + 1;
      while (j < values.length && SHAPE.lowestEquivalentValue(values[j]!) === low) j++;
      total += SHAPE.medianEquivalentValue(values[i]!) * (j - i);
      i = j;
    }
    return total / values.length;
  }

  private ordered(): number[] {
    if (!this.sorted) {
      this.values.sort((a, b) => a - b);
      this.sorted = true;
    }
    return this.values;
  }
}

/**
 * The same engine as a histogram that ships between threads: an hdr-histogram-js histogram
 * (32-bit counts sized to the samples seen, autoResize from 2 ms up, clamped at 1 h) with the
 * exact extremes. Metrics (the run's histograms and their per-second timeline, merged across
 * phone workers) and the progress line's live p99s use it; it answers as HdrStats does for the
 * same samples (test/metrics/onePercentileEngine.test.ts: A11 through HdrStats and the
 * metrics table through HdrHistogram give the same p50, p99 and max for one run). Measured with
 * one Metrics holding 1M samples over 600 timeline seconds: 1.9 us a sample, 0.16 s to encode,
 * 0.13 s for the snapshot's percentiles ('packed' counts: 6.0 us, 3.9 s, 4.4 s).
 */
export class HdrHistogram {
  private readonly histogram: Histogram;
  /** Exact extremes: HDR's own after a decode are rounded to their bucket, which would make merges inexact. */
  private minValue = Infinity;
  private maxValue = -Infinity;

  constructor() {
    this.histogram = build({
      useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: 2, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, autoResize: true, bitBucketSize: 32,
    });
  }

  static of(values: Iterable<number>): HdrHistogram {
    const stats = new HdrHistogram();
    for (const v of values) stats.record(v);
    return stats;
  }

  /** Records one sample (clamped by clampSample); returns the value recorded. */
  record(value: number): number {
    const v = clampSample(value);
    this.histogram.recordValue(v);
    this.noteExtremes(v, v);
    return v;
  }

  /**
   * For closed-loop callers: records the sample and, when it is longer than `intervalMs`, the
   * samples a non-blocked sender would have seen meanwhile (HDR's expected-interval correction).
   * Returns every value recorded, largest first.
   */
  recordWithExpectedInterval(value: number, intervalMs: number): number[] {
    const v = clampSample(value);
    const interval = Math.max(0, Math.round(intervalMs));
    this.histogram.recordValueWithExpectedInterval(v, interval);
    const recorded: number[] = [];
    for (let x = v; ; x -= interval) {
      recorded.push(x);
      if (interval <= 0 || x - interval < interval) break;
    }
    this.noteExtremes(recorded.at(-1)!, v);
    return recorded;
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  get min(): number | null {
    return this.count === 0 ? null : this.minValue;
  }

  get max(): number | null {
    return this.count === 0 ? null : this.maxValue;
  }

  get mean(): number | null {
    return this.count === 0 ? null : Math.round(this.histogram.mean * 1000) / 1000;
  }

  /** The value at percentile p (0..100), clamped to the exact min and max; null without samples. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    // HDR answers a bucket's highest equivalent value, which may pass the exact max.
    return Math.min(this.maxValue, Math.max(this.minValue, this.histogram.getValueAtPercentile(p)));
  }

  stats(): SampleStats {
    return {
      count: this.count, p50: this.percentile(50), p90: this.percentile(90), p95: this.percentile(95), p99: this.percentile(99), 'p99.9': this.percentile(99.9),
      min: this.min, max: this.max, mean: this.mean,
    };
  }

  encode(): EncodedHdr {
    return { hdr: encodeIntoCompressedBase64(this.histogram), min: this.count === 0 ? 0 : this.minValue, max: this.count === 0 ? 0 : this.maxValue };
  }

  /** Adds an encoded histogram exactly (counts and extremes). */
  addEncoded(encoded: EncodedHdr): void {
    const decoded = decodeFromCompressedBase64(encoded.hdr, 32, false);
    if (decoded.totalCount > 0) {
      this.histogram.add(decoded);
      this.noteExtremes(encoded.min, encoded.max);
    }
    decoded.destroy();
  }

  /** Adds another histogram's samples exactly (same thread). */
  addStats(other: HdrHistogram): void {
    if (other.count === 0) return;
    this.histogram.add(other.histogram);
    this.noteExtremes(other.minValue, other.maxValue);
  }

  private noteExtremes(min: number, max: number): void {
    if (min < this.minValue) this.minValue = min;
    if (max > this.maxValue) this.maxValue = max;
  }
}
