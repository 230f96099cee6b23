import type { PropertyResult } from '../check/PropertyResult.ts';
import type { BuildInfo, RunPhase } from '../types/runTypes.ts';
import type { FaultNotTaken, FaultWindow } from '../history/FaultWindow.ts';
import type { HistogramSnapshot, MetricsSnapshot } from '../metrics/Metrics.ts';
import type { Breakdowns } from '../metrics/tagBreakdown.ts';
import { KNOWN_METRICS, type MetricInfo, type Threshold, type ThresholdOp } from '../scenario/thresholds.ts';

/**
 * Process exit codes of `chatsim run`, the contract CI gates use:
 * 0 all passed; 1 a correctness property failed; 2 every property passed but a threshold
 * failed; 3 the run could not complete (target unreachable, provisioning failed, a worker
 * died); 64 bad usage or an invalid scenario. When several apply: 3, then 1, then 2.
 */
export const EXIT_CODES = Object.freeze({ pass: 0, property: 1, threshold: 2, runFailed: 3, usage: 64 } as const);

/** What each exit code means, for the terminal and the HTML report. */
export const EXIT_CODE_MEANINGS: Readonly<Record<number, string>> = Object.freeze({
  0: 'all properties and thresholds passed',
  1: 'a correctness property failed',
  2: 'a threshold failed',
  3: 'the run could not complete',
  64: 'bad usage or invalid scenario',
});

export interface GeneratorHealth {
  /** CPU used by the phone workers, percent of one core. */
  cpuPercent: number;
  eventLoopLagMsP99: number;
  /** Set when the load generator itself was the bottleneck: the numbers then understate the target. */
  warning?: string;
}

export interface ThresholdResult {
  /** As the loader parsed it (its `text` is the expression as written). */
  threshold: Threshold;
  /** The measured value (ms for durations); undefined when the run did not produce the metric. */
  actual: number | undefined;
  ok: boolean;
}

/**
 * A threshold as summary.json carries it: `actual` is null (not absent) when the metric is
 * missing; `op`, `limit` and `unit` spell out what it was held to (`limit` and `actual` in
 * `unit`: ms for durations), null for an expression that does not parse.
 */
export interface SummaryThreshold {
  expression: string;
  actual: number | null;
  op: ThresholdOp | null;
  limit: number | null;
  unit: MetricInfo['unit'] | null;
  ok: boolean;
}

/** The summary.json form of a threshold's result. */
export function summaryThreshold(t: ThresholdResult): SummaryThreshold {
  const { text, op, limit, metric } = t.threshold;
  return { expression: text, actual: t.actual ?? null, op, limit, unit: KNOWN_METRICS[metric]?.unit ?? null, ok: t.ok };
}

/** A histogram's stats: ms for latencies, messages for syncMessages; every stat null (never 0: a gate would read 0 as perfect) when count is 0. */
export interface LatencySummary {
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  'p99.9': number | null;
  max: number | null;
  min: number | null;
  mean: number | null;
  count: number;
}

export interface PropertySummary {
  id: string;
  name: string;
  verdict: PropertyResult['verdict'];
  violations: number;
  /** The first (worst) example, or null. */
  example: string | null;
  examples: string[];
  /** Why the verdict is 'unknown', when it is. */
  reason?: string;
}

export type SummaryLatencyMetric = 'sendToAck' | 'sendToDelivered' | 'sendToRead' | 'fanOut' | 'reconnect';

/**
 * `summary.json`: what CI reads after `chatsim run`. Fields:
 *
 * - `schemaVersion` (1): bumped on any incompatible change.
 * - `verdict` ('pass' | 'fail') and `exitCode` (see EXIT_CODES).
 * - `seed`, `engine`, `scenario` {name, path}, `durationMs` (load phase), `reproduce` (a command line).
 * - `properties[]`: {id, name, verdict 'pass'|'fail'|'unknown', violations, example (first or null), examples, reason?}.
 *   'unknown' (the history could not decide) does not fail the run.
 * - `thresholds[]`: {expression, actual (null when the metric is missing), op, limit, unit ('ms' for durations, 'perSec', 'ratio', 'count'), ok}.
 * - `metrics`: `phones`, `messagesSent`, `messagesAcked`, `deliveries` (counters messages.sent/acked/delivered),
 *   `throughputPerSec` {sent, delivered} over durationMs, `latencyMs` {sendToAck, sendToDelivered, sendToRead,
 *   fanOut, reconnect} each {p50, p90, p95, p99, p99.9, max, min, mean, count} in ms, `frames` {out: {type: n}, in: {type: n},
 *   acksPerDelivered, receiptsSavedByDebounce, piggybackShare}, `reconnects`, `errors` {CODE: n}, `errorRate`
 *   (error frames per frame sent), `syncMessages` (same stats, messages per sync).
 * - `faults[]`: {kind, startMs, endMs, label?} relative to the run start (label: what happened, for people).
 * - `faultsNotTaken[]` (only when there are some): {kind, atMs, label, reason}, the scenario's faults the
 *   run's cluster or target could not take (not played, no window: "ejabberd: partition-gateway needs the
 *   reference cluster ...") or whose playing failed ("playing it failed: ..."). They do not change the verdict.
 * - `phases[]`: {name 'ramp'|'load'|'heal', startMs, endMs} relative to the run start.
 * - `build`: {version, commit?, finishedAt} (optional: absent from summaries written before it existed).
 * - `breakdowns`: {sendToAck, sendToDelivered, sendToRead, fanOut} each {"all" | "tag:value": {count, p50, p90,
 *   p95, p99, p99.9, min, max, mean}}, ms, null (never 0) without samples (simulator/metrics/taggedSamples.ts).
 * - `generator`: {cpuPercent, eventLoopLagMsP99, warning?}.
 * - `runFailed` {code, message}: only when the run could not complete (exitCode 3).
 */
export interface Summary {
  schemaVersion: 1;
  verdict: 'pass' | 'fail';
  exitCode: number;
  seed: number;
  engine: string;
  scenario: { name: string; path: string };
  durationMs: number;
  reproduce: string;
  properties: PropertySummary[];
  thresholds: SummaryThreshold[];
  metrics: SummaryMetrics;
  faults: FaultWindow[];
  /** The scenario's faults the cluster or target could not take, with why (absent when none). */
  faultsNotTaken?: FaultNotTaken[];
  /** The run's phases on its timeline: ramp (when the scenario ramps), load, heal. */
  phases: RunPhase[];
  generator: GeneratorHealth;
  runFailed?: { code: string; message: string };
  /** Which chatsim wrote this, and when. */
  build?: BuildInfo;
  /**
   * Per tagged metric, stats overall ("all") and per tag value ("profile:good-4g",
   * "connected:true", "chat:group", "phase:fault", ...); fields are null, never 0, without samples.
   */
  breakdowns?: Breakdowns;
}

export type { BuildInfo, RunPhase };

export interface SummaryMetrics {
  phones: number;
  messagesSent: number;
  messagesAcked: number;
  deliveries: number;
  throughputPerSec: { sent: number; delivered: number };
  latencyMs: Record<SummaryLatencyMetric, LatencySummary>;
  frames: {
    out: Record<string, number>;
    in: Record<string, number>;
    /** Ack frames sent by phones per message delivered to them (receipt batching shows here). */
    acksPerDelivered: number;
    receiptsSavedByDebounce: number;
    /** Share of read receipts that rode on a typing frame instead of a read frame of their own. */
    piggybackShare: number;
  };
  reconnects: number;
  errors: Record<string, number>;
  errorRate: number;
  syncMessages: LatencySummary;
}

export interface SummaryInput {
  scenario: { name: string; path: string };
  seed: number;
  engine: string;
  durationMs: number;
  properties: PropertyResult[];
  thresholds: ThresholdResult[];
  metrics: MetricsSnapshot;
  phones: number;
  faults: FaultWindow[];
  faultsNotTaken?: FaultNotTaken[];
  generator: GeneratorHealth;
  reproduce: string;
  runFailed?: { code: string; message: string };
  phases?: RunPhase[];
  build?: BuildInfo;
  breakdowns?: Breakdowns;
}

const SUMMARY_LATENCIES: readonly SummaryLatencyMetric[] = ['sendToAck', 'sendToDelivered', 'sendToRead', 'fanOut', 'reconnect'];

export function buildSummary(input: SummaryInput): Summary {
  const exitCode = exitCodeOf(input);
  const summary: Summary = {
    schemaVersion: 1,
    verdict: exitCode === EXIT_CODES.pass ? 'pass' : 'fail',
    exitCode,
    seed: input.seed,
    engine: input.engine,
    scenario: { name: input.scenario.name, path: input.scenario.path },
    durationMs: input.durationMs,
    reproduce: input.reproduce,
    properties: input.properties.map(summariseProperty),
    thresholds: input.thresholds.map(summaryThreshold),
    metrics: summariseMetrics(input.metrics, input.phones, input.durationMs),
    faults: input.faults.map((f) => ({ kind: f.kind, startMs: f.startMs, endMs: f.endMs, ...(f.label !== undefined ? { label: f.label } : {}) })),
    phases: (input.phases ?? []).map((p) => ({ ...p })),
    generator: { ...input.generator },
  };
  if (input.faultsNotTaken && input.faultsNotTaken.length > 0) summary.faultsNotTaken = input.faultsNotTaken.map((f) => ({ kind: f.kind, atMs: f.atMs, label: f.label, reason: f.reason }));
  if (input.runFailed) summary.runFailed = { code: input.runFailed.code, message: input.runFailed.message };
  if (input.build) summary.build = { ...input.build };
  if (input.breakdowns) summary.breakdowns = input.breakdowns;
  return summary;
}

/** 3 beats 1 beats 2: a run that did not complete says nothing of properties, and a broken property matters more than a slow one. */
function exitCodeOf(input: SummaryInput): number {
  if (input.runFailed) return EXIT_CODES.runFailed;
  if (input.properties.some((p) => p.verdict === 'fail')) return EXIT_CODES.property;
  if (input.thresholds.some((t) => !t.ok)) return EXIT_CODES.threshold;
  return EXIT_CODES.pass;
}

function summariseProperty(p: PropertyResult): PropertySummary {
  const out: PropertySummary = { id: p.id, name: p.name, verdict: p.verdict, violations: p.violations, example: p.examples[0] ?? null, examples: [...p.examples] };
  if (p.reason !== undefined) out.reason = p.reason;
  return out;
}

function summariseMetrics(m: MetricsSnapshot, phones: number, durationMs: number): SummaryMetrics {
  const c = (name: string): number => m.counters[name] ?? 0;
  const framesOut = countersUnder(m.counters, 'frames.out.');
  const framesIn = countersUnder(m.counters, 'frames.in.');
  const errors = countersUnder(m.counters, 'errors.');
  const deliveries = c('messages.delivered');
  const receipts = c('receipts.piggybacked') + (framesOut.read ?? 0);
  const latencyMs = {} as Record<SummaryLatencyMetric, LatencySummary>;
  for (const metric of SUMMARY_LATENCIES) latencyMs[metric] = latencyOf(m.histograms[metric]);
  return {
    phones,
    messagesSent: c('messages.sent'),
    messagesAcked: c('messages.acked'),
    deliveries,
    throughputPerSec: { sent: perSec(c('messages.sent'), durationMs), delivered: perSec(deliveries, durationMs) },
    latencyMs,
    frames: {
      out: framesOut, in: framesIn,
      acksPerDelivered: ratio(framesOut.ack ?? 0, deliveries),
      receiptsSavedByDebounce: c('receipts.savedByDebounce'),
      piggybackShare: ratio(c('receipts.piggybacked'), receipts),
    },
    reconnects: c('reconnects'),
    errors,
    errorRate: ratio(sum(errors), sum(framesOut)),
    syncMessages: latencyOf(m.histograms.syncMessages),
  };
}

/** `{ 'frames.out.send': 3 }` under 'frames.out.' -> `{ send: 3 }`. */
function countersUnder(counters: Record<string, number>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(counters)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = value;
  return out;
}

function latencyOf(h: HistogramSnapshot | undefined): LatencySummary {
  if (!h || h.count === 0) return { p50: null, p90: null, p95: null, p99: null, 'p99.9': null, max: null, min: null, mean: null, count: 0 };
  return { p50: h.p50, p90: h.p90, p95: h.p95, p99: h.p99, 'p99.9': h['p99.9'], max: h.max, min: h.min, mean: h.mean, count: h.count };
}

function sum(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? round3(numerator / denominator) : 0;
}

function perSec(count: number, durationMs: number): number {
  return durationMs > 0 ? round3((count * 1000) / durationMs) : 0;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

const HISTOGRAM_STATS = ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'min', 'mean'] as const;
type HistogramStat = typeof HISTOGRAM_STATS[number];

/**
 * The value a threshold compares (see simulator/scenario/thresholds.ts): a histogram stat in ms
 * (or messages for syncMessages), or a run-wide value. Undefined when the run did not produce
 * the metric (an empty histogram, a rate over no time, a ratio over no frames), which fails the
 * threshold. Reads only the summary, so it works on a parsed summary.json too.
 */
export function lookupMetric(summary: Summary, metric: string, stat: string): number | undefined {
  const histogram = histogramOf(summary, metric);
  if (histogram !== undefined) {
    if (histogram.count === 0 || !(HISTOGRAM_STATS as readonly string[]).includes(stat)) return undefined;
    return histogram[stat as HistogramStat] ?? undefined;
  }
  return stat === 'value' ? valueMetric(summary, metric) : undefined;
}

function histogramOf(summary: Summary, metric: string): LatencySummary | undefined {
  if (metric === 'syncMessages') return summary.metrics.syncMessages;
  if ((SUMMARY_LATENCIES as readonly string[]).includes(metric)) return summary.metrics.latencyMs[metric as SummaryLatencyMetric];
  return undefined;
}

function valueMetric(summary: Summary, metric: string): number | undefined {
  const m = summary.metrics;
  const hasTime = summary.durationMs > 0;
  switch (metric) {
    case 'deliveredPerSec': return hasTime ? m.throughputPerSec.delivered : undefined;
    case 'sentPerSec': return hasTime ? m.throughputPerSec.sent : undefined;
    case 'errorRate': return sum(m.frames.out) > 0 ? m.errorRate : undefined;
    case 'reconnects': return m.reconnects;
    case 'messagesSent': return m.messagesSent;
    case 'messagesAcked': return m.messagesAcked;
    default: return undefined;
  }
}
