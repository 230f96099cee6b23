import type { TimeSource } from '../../server/ports/Clock.ts';
import { HdrHistogram, type EncodedHdr } from './hdrStats.ts';
import { LogBuckets } from './LogBuckets.ts';
import type { LatencyMetric, MetricsSink } from './MetricsSink.ts';

/** Every histogram a phone can feed, in report order. */
export const LATENCY_METRICS: readonly LatencyMetric[] = ['sendToAck', 'sendToDelivered', 'sendToRead', 'fanOut', 'reconnect', 'syncMessages'];

/** Latency metrics that get a p50/p99 per second on the timeline. */
const TIMELINE_LATENCIES = ['sendToAck', 'sendToDelivered'] as const;
type TimelineLatency = typeof TIMELINE_LATENCIES[number];

/** Counters that the timeline counts per second (plus every `errors.*`). */
const TIMELINE_COUNTERS = { 'messages.sent': 'sent', 'messages.delivered': 'delivered' } as const;

/** Chart buckets per decade for the snapshot's histogram bars (about 26 % wide each). */
const CHART_BUCKETS_PER_DECADE = 10;
/** Version 2: per-second latencies are HDR histograms (version 1 had log buckets). */
const ENCODING_VERSION = 2;

export interface HistogramSnapshot {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  'p99.9': number;
  /** Log-spaced bars for charts: samples with `lowMs <= value < highMs`, ascending, from the lowest to the highest sample. */
  buckets: Array<{ lowMs: number; highMs: number; count: number }>;
}

export interface TimelineRow {
  /** Start of this one-second window, ms since the metrics' start time (the run's t = 0). */
  tMs: number;
  sent: number;
  delivered: number;
  errors: number;
  sendToAckP50Ms: number | null;
  sendToAckP99Ms: number | null;
  sendToDeliveredP50Ms: number | null;
  sendToDeliveredP99Ms: number | null;
}

/** Plain, JSON-able view of a run's metrics; what reports read. */
export interface MetricsSnapshot {
  /** Epoch ms of the timeline's t = 0. */
  startMs: number;
  histograms: Record<LatencyMetric, HistogramSnapshot>;
  counters: Record<string, number>;
  timeline: TimelineRow[];
}

/** One second of the timeline, keyed by absolute epoch second so merges across workers are exact. */
interface Second {
  sent: number;
  delivered: number;
  errors: number;
  latency: Record<TimelineLatency, HdrHistogram>;
}

interface EncodedMetrics {
  v: number;
  startMs: number;
  startExplicit: boolean;
  histograms: Partial<Record<LatencyMetric, EncodedHdr & { chart: Record<string, number> }>>;
  counters: Record<string, number>;
  timeline: Array<{ s: number; sent: number; delivered: number; errors: number; latency: Partial<Record<TimelineLatency, EncodedHdr>> }>;
}

/**
 * A run's measurements: one HDR histogram per latency metric (fixed memory whatever the
 * sample count), counters by name, and a per-second timeline for the report's charts whose
 * percentiles come from an HDR histogram per second. Every percentile is HDR's (HdrHistogram, answering as HdrStats does), the
 * engine the checkers and tagged breakdowns use too; log buckets only draw histogram bars.
 *
 * Coordinated omission: phones are open-loop. Their sends are scheduled by the clock from the
 * scenario's rate and never wait for the previous ack, and every latency is measured from the
 * intended send time, so a stalled server shows up as large samples rather than as missing
 * ones, and no correction is needed. A closed-loop caller (one that waits for each answer
 * before the next request) should use `observeWithExpectedInterval`, which back-fills the
 * samples the stall suppressed (HDR's expected-interval correction).
 *
 * Each phone worker thread keeps its own Metrics and ships `encode()` to the main thread,
 * which merges them with `addEncoded`: histograms, counters and timeline seconds add exactly.
 */
export class Metrics implements MetricsSink {
  private readonly histograms = new Map<LatencyMetric, HdrHistogram>();
  private readonly chartBuckets = new Map<LatencyMetric, LogBuckets>();
  private readonly counters = new Map<string, number>();
  private readonly seconds = new Map<number, Second>();
  private startMs: number;
  /** False while the start is only "when this object was made": a merge then adopts the earliest start. */
  private startExplicit: boolean;

  constructor(private readonly time: TimeSource, startMs?: number) {
    this.startMs = startMs ?? time.nowMs();
    this.startExplicit = startMs !== undefined;
  }

  /** Sets the timeline's t = 0, e.g. to the run's start epoch. */
  setStartMs(startMs: number): void {
    this.startMs = startMs;
    this.startExplicit = true;
  }

  observe(metric: LatencyMetric, value: number): void {
    this.observeAt(metric, value, this.time.nowMs());
  }

  /** A sample measured after the fact (from the history): it goes on the timeline at `atEpochMs`. */
  observeAt(metric: LatencyMetric, value: number, atEpochMs: number): void {
    const clamped = this.histogram(metric).record(value);
    this.chart(metric).add(clamped);
    this.observeOnTimeline(metric, clamped, atEpochMs);
  }

  /**
   * For closed-loop callers only (see the class comment): records the sample and, when it is
   * longer than `intervalMs`, the samples a non-blocked sender would have seen meanwhile.
   */
  observeWithExpectedInterval(metric: LatencyMetric, value: number, intervalMs: number): void {
    for (const v of this.histogram(metric).recordWithExpectedInterval(value, intervalMs)) {
      this.chart(metric).add(v);
      this.observeOnTimeline(metric, v, this.time.nowMs());
    }
  }

  increment(counter: string, by = 1): void {
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + by);
    const column = counterColumn(counter);
    if (column) this.second(this.time.nowMs())[column] += by;
  }

  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** Serialises everything for another thread; `addEncoded` on the receiver merges it exactly. */
  encode(): string {
    const encoded: EncodedMetrics = {
      v: ENCODING_VERSION, startMs: this.startMs, startExplicit: this.startExplicit,
      histograms: {}, counters: Object.fromEntries(this.counters), timeline: [],
    };
    for (const [metric, h] of this.histograms) encoded.histograms[metric] = { ...h.encode(), chart: this.chart(metric).toJSON() };
    for (const [s, second] of this.seconds) {
      const latency: Partial<Record<TimelineLatency, EncodedHdr>> = {};
      for (const metric of TIMELINE_LATENCIES) if (second.latency[metric].count > 0) latency[metric] = second.latency[metric].encode();
      encoded.timeline.push({ s, sent: second.sent, delivered: second.delivered, errors: second.errors, latency });
    }
    return JSON.stringify(encoded);
  }

  addEncoded(text: string): void {
    const encoded = JSON.parse(text) as EncodedMetrics;
    if (encoded.v !== ENCODING_VERSION) throw new Error(`metrics encoding version ${String(encoded.v)} is not ${ENCODING_VERSION}`);
    this.mergeStart(encoded);
    for (const metric of LATENCY_METRICS) {
      const other = encoded.histograms[metric];
      if (!other) continue;
      this.histogram(metric).addEncoded(other);
      this.chart(metric).addAll(other.chart);
    }
    for (const [name, value] of Object.entries(encoded.counters)) this.counters.set(name, this.counter(name) + value);
    for (const row of encoded.timeline) this.mergeSecond(row);
  }

  snapshot(): MetricsSnapshot {
    const histograms = {} as Record<LatencyMetric, HistogramSnapshot>;
    for (const metric of LATENCY_METRICS) histograms[metric] = this.histogramSnapshot(metric);
    const counters = Object.fromEntries([...this.counters].sort(([a], [b]) => a.localeCompare(b)));
    return { startMs: this.startMs, histograms, counters, timeline: this.timelineRows() };
  }

  private histogram(metric: LatencyMetric): HdrHistogram {
    let h = this.histograms.get(metric);
    if (!h) {
      h = new HdrHistogram();
      this.histograms.set(metric, h);
    }
    return h;
  }

  private chart(metric: LatencyMetric): LogBuckets {
    let b = this.chartBuckets.get(metric);
    if (!b) {
      b = new LogBuckets(CHART_BUCKETS_PER_DECADE);
      this.chartBuckets.set(metric, b);
    }
    return b;
  }

  private second(nowMs: number): Second {
    const key = Math.floor(nowMs / 1000);
    let s = this.seconds.get(key);
    if (!s) {
      s = { sent: 0, delivered: 0, errors: 0, latency: { sendToAck: new HdrHistogram(), sendToDelivered: new HdrHistogram() } };
      this.seconds.set(key, s);
    }
    return s;
  }

  private observeOnTimeline(metric: LatencyMetric, value: number, atEpochMs: number): void {
    if (metric === 'sendToAck' || metric === 'sendToDelivered') this.second(atEpochMs).latency[metric].record(value);
  }

  private mergeStart(encoded: EncodedMetrics): void {
    if (this.startExplicit) return;
    if (encoded.startExplicit) {
      this.setStartMs(encoded.startMs);
    } else {
      this.startMs = Math.min(this.startMs, encoded.startMs);
    }
  }

  private mergeSecond(row: EncodedMetrics['timeline'][number]): void {
    const second = this.second(row.s * 1000);
    second.sent += row.sent;
    second.delivered += row.delivered;
    second.errors += row.errors;
    for (const metric of TIMELINE_LATENCIES) {
      const other = row.latency[metric];
      if (other) second.latency[metric].addEncoded(other);
    }
  }

  private histogramSnapshot(metric: LatencyMetric): HistogramSnapshot {
    const h = this.histograms.get(metric);
    if (!h || h.count === 0) return emptyHistogramSnapshot();
    const at = (p: number): number => h.percentile(p)!;
    return {
      count: h.count, min: h.min!, max: h.max!, mean: h.mean!,
      p50: at(50), p90: at(90), p95: at(95), p99: at(99), 'p99.9': at(99.9),
      buckets: this.chart(metric).bars(),
    };
  }

  private timelineRows(): TimelineRow[] {
    const keys = [...this.seconds.keys()].sort((a, b) => a - b);
    return keys.map((key) => {
      const s = this.seconds.get(key)!;
      return {
        tMs: key * 1000 - this.startMs, sent: s.sent, delivered: s.delivered, errors: s.errors,
        sendToAckP50Ms: s.latency.sendToAck.percentile(50), sendToAckP99Ms: s.latency.sendToAck.percentile(99),
        sendToDeliveredP50Ms: s.latency.sendToDelivered.percentile(50), sendToDeliveredP99Ms: s.latency.sendToDelivered.percentile(99),
      };
    });
  }
}

function counterColumn(counter: string): 'sent' | 'delivered' | 'errors' | undefined {
  if (counter.startsWith('errors.')) return 'errors';
  return TIMELINE_COUNTERS[counter as keyof typeof TIMELINE_COUNTERS];
}

function emptyHistogramSnapshot(): HistogramSnapshot {
  return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, 'p99.9': 0, buckets: [] };
}
