import type { Summary } from './Summary.ts';

/**
 * `chatsim compare`: a run against a baseline (say, main's last run of the same scenario),
 * metric by metric and tag by tag, each change judged against run-to-run noise.
 *
 * A latency stat regresses when it grew by more than its relative tolerance AND by more than
 * an absolute floor (a 3 ms p50 becoming 5 ms is noise, not a regression). A rate regresses
 * when it fell by more than its tolerance. The error rate regresses when it rose by more than
 * an absolute 0.005. A property that passed in the baseline and fails now regresses. Stats
 * over fewer than `minSamples` samples on either side are not judged ("too few samples").
 *
 * How the defaults were chosen: docs/performance.md, "Run-to-run noise" (the spread of the same
 * scenario over five seeds; each tolerance sits above the largest spread measured).
 */
export interface CompareTolerance {
  /** Relative growth a p50 may show, 0..1. */
  p50: number;
  /** Relative growth a p95 or p99 may show. */
  tail: number;
  /** Absolute growth in ms below which a latency change is never a regression. */
  floorMs: number;
  /** Relative fall a rate (delivered/s, sent/s) may show. */
  rate: number;
  /** Absolute rise the error rate may show. */
  errorRate: number;
  /** Fewest samples on each side for a stat to be judged. */
  minSamples: number;
}

export const DEFAULT_TOLERANCE: Readonly<CompareTolerance> = Object.freeze({ p50: 0.3, tail: 0.5, floorMs: 50, rate: 0.2, errorRate: 0.005, minSamples: 30 });

export type ChangeVerdict = 'ok' | 'regression' | 'improvement' | 'too few samples' | 'missing';

export interface MetricChange {
  /** "sendToAck p95", "sendToAck{profile:good-4g} p99", "deliveredPerSec", "property C1". */
  metric: string;
  baseline: number | string | null;
  run: number | string | null;
  /** (run - baseline) / baseline, or null when not a ratio. */
  change: number | null;
  /** What was allowed, in words ("+50 % and +50 ms"). */
  allowed: string;
  verdict: ChangeVerdict;
}

export interface Comparison {
  baseline: { scenario: string; seed: number; engine: string };
  run: { scenario: string; seed: number; engine: string };
  changes: MetricChange[];
  regressions: MetricChange[];
  /** Notes a reader should see (different scenarios, different engines). */
  notes: string[];
}

const LATENCIES = ['sendToAck', 'sendToDelivered', 'sendToRead', 'fanOut', 'reconnect'] as const;
const STATS = ['p50', 'p95', 'p99'] as const;

export function compareRuns(baseline: Summary, run: Summary, tolerance: CompareTolerance = DEFAULT_TOLERANCE): Comparison {
  const changes: MetricChange[] = [];
  for (const metric of LATENCIES) {
    const b = baseline.metrics.latencyMs[metric];
    const r = run.metrics.latencyMs[metric];
    if (!b || !r) continue;
    for (const stat of STATS) changes.push(latencyChange(`${metric} ${stat}`, b.count, b[stat], r.count, r[stat], stat, tolerance));
  }
  for (const metric of Object.keys(run.breakdowns ?? {}) as Array<keyof NonNullable<Summary['breakdowns']>>) {
    for (const [series, r] of Object.entries(run.breakdowns![metric])) {
      if (series === 'all' || !/^(profile|chat|connected):/.test(series)) continue;
      const b = baseline.breakdowns?.[metric]?.[series];
      for (const stat of ['p95', 'p99'] as const) {
        changes.push(b ? latencyChange(`${metric}{${series}} ${stat}`, b.count, b[stat], r.count, r[stat], stat, tolerance)
          : { metric: `${metric}{${series}} ${stat}`, baseline: null, run: r[stat], change: null, allowed: '-', verdict: 'missing' });
      }
    }
  }
  changes.push(rateChange('deliveredPerSec', baseline.metrics.throughputPerSec.delivered, run.metrics.throughputPerSec.delivered, tolerance));
  changes.push(rateChange('sentPerSec', baseline.metrics.throughputPerSec.sent, run.metrics.throughputPerSec.sent, tolerance));
  const errorRise = run.metrics.errorRate - baseline.metrics.errorRate;
  changes.push({ metric: 'errorRate', baseline: baseline.metrics.errorRate, run: run.metrics.errorRate, change: null, allowed: `+${tolerance.errorRate}`, verdict: errorRise > tolerance.errorRate ? 'regression' : errorRise < -tolerance.errorRate ? 'improvement' : 'ok' });
  for (const p of run.properties) {
    const before = baseline.properties.find((q) => q.id === p.id)?.verdict ?? null;
    if (p.verdict === 'fail' && before !== 'fail') changes.push({ metric: `property ${p.id}`, baseline: before, run: p.verdict, change: null, allowed: 'no new failure', verdict: 'regression' });
    else if (p.verdict !== 'fail' && before === 'fail') changes.push({ metric: `property ${p.id}`, baseline: before, run: p.verdict, change: null, allowed: 'no new failure', verdict: 'improvement' });
  }
  const notes: string[] = [];
  if (baseline.scenario.name !== run.scenario.name) notes.push(`different scenarios: ${baseline.scenario.name} and ${run.scenario.name}`);
  if (baseline.engine !== run.engine) notes.push(`different engines: ${baseline.engine} and ${run.engine}`);
  if (baseline.metrics.phones !== run.metrics.phones) notes.push(`different phone counts: ${baseline.metrics.phones} and ${run.metrics.phones}`);
  const side = (s: Summary) => ({ scenario: s.scenario.name, seed: s.seed, engine: s.engine });
  return { baseline: side(baseline), run: side(run), changes, regressions: changes.filter((c) => c.verdict === 'regression'), notes };
}

function latencyChange(metric: string, baseCount: number, base: number | null, runCount: number, value: number | null, stat: string, t: CompareTolerance): MetricChange {
  const rel = stat === 'p50' ? t.p50 : t.tail;
  const allowed = `+${Math.round(rel * 100)}% and +${t.floorMs}ms`;
  if (base === null || value === null || baseCount === 0 || runCount === 0) return { metric, baseline: base, run: value, change: null, allowed, verdict: 'missing' };
  const change = base > 0 ? round3((value - base) / base) : null;
  if (baseCount < t.minSamples || runCount < t.minSamples) return { metric, baseline: base, run: value, change, allowed, verdict: 'too few samples' };
  const grew = value - base;
  const verdict: ChangeVerdict = grew > t.floorMs && value > base * (1 + rel) ? 'regression'
    : -grew > t.floorMs && value < base / (1 + rel) ? 'improvement' : 'ok';
  return { metric, baseline: base, run: value, change, allowed, verdict };
}

function rateChange(metric: string, base: number, value: number, t: CompareTolerance): MetricChange {
  const change = base > 0 ? round3((value - base) / base) : null;
  const verdict: ChangeVerdict = base <= 0 ? 'missing' : value < base * (1 - t.rate) ? 'regression' : value > base * (1 + t.rate) ? 'improvement' : 'ok';
  return { metric, baseline: base, run: value, change, allowed: `-${Math.round(t.rate * 100)}%`, verdict };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The comparison as a terminal table: regressions first, then the rest that changed, then counts. */
export function formatComparison(c: Comparison, options: { all?: boolean } = {}): string {
  const shown = options.all ? c.changes : c.changes.filter((x) => x.verdict !== 'ok');
  const order: Record<ChangeVerdict, number> = { regression: 0, improvement: 1, missing: 2, 'too few samples': 3, ok: 4 };
  const rows = [...shown].sort((a, b) => order[a.verdict] - order[b.verdict]).map((x) => [
    x.verdict === 'regression' ? 'REGRESSION' : x.verdict, x.metric, fmt(x.baseline), fmt(x.run), x.change === null ? '' : `${x.change >= 0 ? '+' : ''}${Math.round(x.change * 100)}%`, x.allowed,
  ]);
  const widths = [0, 1, 2, 3, 4, 5].map((i) => Math.max(...[['verdict', 'metric', 'baseline', 'run', 'change', 'allowed'], ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]): string => `  ${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  const head = `${c.regressions.length === 0 ? 'no regression' : `${c.regressions.length} regression(s)`}: ${c.run.scenario} seed ${c.run.seed} against baseline ${c.baseline.scenario} seed ${c.baseline.seed} (${c.changes.length} stats compared)`;
  const table = rows.length === 0 ? ['  every stat within its tolerance'] : [line(['verdict', 'metric', 'baseline', 'run', 'change', 'allowed']), ...rows.map(line)];
  return [head, ...c.notes.map((n) => `  note: ${n}`), ...table].join('\n');
}

function fmt(v: number | string | null): string {
  if (v === null) return '-';
  return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : v;
}
