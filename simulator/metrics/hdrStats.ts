import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/** Highest value a histogram tracks: one hour in ms; larger samples are clamped to it. */
export const HDR_HIGHEST_TRACKABLE = 3_600_000;
/** Three significant digits: a percentile is within 0.1 % of the exact sample. */
export const HDR_SIGNIFICANT_DIGITS = 3;

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

/**
 * The one percentile engine of chatsim: an HDR histogram (hdr-histogram-js) per set of samples.
 * The run's histograms and their per-second timeline (Metrics), the tagged breakdowns and time
 * series, and the checkers (A11) all answer percentiles through it, so one run cannot give two
 * p99s for one thing: the same samples give the same answer to the last ms.
 */
export class HdrStats {
  private readonly histogram: Histogram;
  /** Exact extremes: HDR's own after a decode are rounded to their bucket, which would make merges inexact. */
  private minValue = Infinity;
  private maxValue = -Infinity;

  /**
   * `counts`: 'packed' (the default) keeps sparse counts, small when thousands of histograms
   * live at once (a tagged time series: a few dozen series a second); 'fast' keeps 32-bit
   * counts sized to the samples seen (autoResize from 2 ms up, clamped at 1 h), for the few
   * histograms that are encoded and queried often. Measured with one Metrics holding 1M samples
   * over 600 timeline seconds: packed took 6.0 us a sample, 3.9 s to encode and 4.4 s for the
   * snapshot's percentiles; fast 1.9 us, 0.16 s and 0.13 s, at about 16 KB a histogram.
   * Both give the same answers.
   */
  constructor(options: { counts?: 'packed' | 'fast' } = {}) {
    this.histogram = build({
      useWebAssembly: false, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: HDR_SIGNIFICANT_DIGITS, autoResize: true,
      ...(options.counts === 'fast' ? { highestTrackableValue: 2, bitBucketSize: 32 as const } : { highestTrackableValue: HDR_HIGHEST_TRACKABLE, bitBucketSize: 'packed' as const }),
    });
  }

  static of(values: Iterable<number>, options: { counts?: 'packed' | 'fast' } = {}): HdrStats {
    const stats = new HdrStats(options);
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
  addStats(other: HdrStats): void {
    if (other.count === 0) return;
    this.histogram.add(other.histogram);
    this.noteExtremes(other.minValue, other.maxValue);
  }

  private noteExtremes(min: number, max: number): void {
    if (min < this.minValue) this.minValue = min;
    if (max > this.maxValue) this.maxValue = max;
  }
}
