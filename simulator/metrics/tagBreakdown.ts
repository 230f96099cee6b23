import { HdrStats, type SampleStats } from './hdrStats.ts';
import { TAG_NAMES, TAGGED_METRICS, type TaggedMetric, type TaggedSample, type Tags } from './taggedSamples.ts';

/** `metric -> "tag:value" -> stats`, one dimension at a time ("profile:good-4g", "connected:true"); "all" is every sample. */
export type Breakdowns = Record<TaggedMetric, Record<string, SampleStats>>;

/** One second of the time series: per metric and series ("all", "tag:value"), the samples completed in it. */
export interface TimeSeriesPoint {
  /** Start of the second, ms since t = 0. */
  tMs: number;
  metrics: Partial<Record<TaggedMetric, Record<string, PointStats>>>;
}

/** What a per-second point keeps of a series: enough to plot and to re-derive counts. */
export interface PointStats {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** The series keys of a sample: "all" and one "tag:value" per tag it carries. */
function seriesKeys(tags: Tags): string[] {
  const keys = ['all'];
  for (const name of TAG_NAMES) {
    const value = tags[name];
    if (value !== undefined) keys.push(`${name}:${value}`);
  }
  return keys;
}

/** Whole-run stats per metric, overall and per tag value. */
export function breakdowns(samples: readonly TaggedSample[]): Breakdowns {
  const hist = new Map<string, HdrStats>();
  for (const s of samples) {
    for (const key of seriesKeys(s.tags)) {
      const k = `${s.metric}|${key}`;
      let h = hist.get(k);
      if (!h) hist.set(k, h = new HdrStats());
      h.record(s.value);
    }
  }
  const out = Object.fromEntries(TAGGED_METRICS.map((m) => [m, {} as Record<string, SampleStats>])) as Breakdowns;
  for (const [k, h] of [...hist].sort(([a], [b]) => a.localeCompare(b))) {
    const bar = k.indexOf('|');
    out[k.slice(0, bar) as TaggedMetric][k.slice(bar + 1)] = h.stats();
  }
  return out;
}

/** Per second from 0 to the last sample (seconds without samples are points with no metrics). */
export function timeSeries(samples: readonly TaggedSample[], lastSecond = 0): TimeSeriesPoint[] {
  const bySecond = new Map<number, Map<string, HdrStats>>();
  let last = lastSecond;
  for (const s of samples) {
    const second = Math.max(0, Math.floor(s.atMs / 1000));
    if (second > last) last = second;
    let series = bySecond.get(second);
    if (!series) bySecond.set(second, series = new Map());
    for (const key of seriesKeys(s.tags)) {
      const k = `${s.metric}|${key}`;
      let h = series.get(k);
      if (!h) series.set(k, h = new HdrStats());
      h.record(s.value);
    }
  }
  const points: TimeSeriesPoint[] = [];
  for (let second = 0; second <= last; second++) {
    const metrics: TimeSeriesPoint['metrics'] = {};
    for (const [k, h] of [...(bySecond.get(second) ?? new Map<string, HdrStats>())].sort(([a], [b]) => a.localeCompare(b))) {
      const bar = k.indexOf('|');
      const metric = k.slice(0, bar) as TaggedMetric;
      (metrics[metric] ??= {})[k.slice(bar + 1)] = { count: h.count, p50: h.percentile(50), p95: h.percentile(95), p99: h.percentile(99), max: h.percentile(100) };
    }
    points.push({ tMs: second * 1000, metrics });
  }
  return points;
}

/** Stats of the samples of one metric whose tags match every filter (`{profile: 'good-4g', connected: 'true'}`). */
export function filteredStats(samples: readonly TaggedSample[], metric: string, filter: Readonly<Record<string, string>>): SampleStats {
  const entries = Object.entries(filter);
  const h = new HdrStats();
  for (const s of samples) {
    if (s.metric !== metric) continue;
    if (entries.every(([name, value]) => (s.tags as Record<string, string | undefined>)[name] === value)) h.record(s.value);
  }
  return h.stats();
}
