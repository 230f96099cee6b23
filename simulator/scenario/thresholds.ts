import { didYouMean } from './didYouMean.ts';
/**
 * k6-style thresholds: `<metric> [<stat>] <op> <limit>`, e.g.
 *
 *   sendToDelivered p(99) < 500ms
 *   sendToAck p(95) <= 2s
 *   deliveredPerSec > 1000
 *   errorRate < 0.01
 *   reconnect max < 30s
 *
 * Histogram metrics need a stat (p(50), p(90), p(95), p(99), p(99.9), min, max, avg/mean);
 * value metrics take none. The tagged histograms (sendToAck, sendToDelivered, sendToRead,
 * fanOut) take a tag filter in braces, k6 style: `sendToAck{connected:true} p(95) < 2s`,
 * `sendToDelivered{profile:good-4g,chat:group} p(99) < 1s` (simulator/metrics/taggedSamples.ts
 * says what each tag means); only samples carrying every tag given count. Limits of duration metrics may carry a unit (ms, s, m, h; none = ms)
 * and are held in ms.
 */

export type ThresholdStat = 'p50' | 'p90' | 'p95' | 'p99' | 'p99.9' | 'max' | 'min' | 'mean' | 'value';
export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==';

export interface Threshold {
  /** The threshold as written. */
  text: string;
  metric: string;
  /** Tag filter: only samples with every one of these tags count (empty: all samples). */
  tags: Record<string, string>;
  stat: ThresholdStat;
  op: ThresholdOp;
  /** The limit; ms for duration metrics. */
  limit: number;
}

export type ParseThresholdResult = { ok: true; threshold: Threshold } | { ok: false; message: string };

export interface MetricInfo {
  kind: 'histogram' | 'value';
  /** 'ms' metrics take duration limits ("500ms", "2s"); the others take plain numbers. */
  unit: 'ms' | 'count' | 'perSec' | 'ratio';
  description: string;
}

/** Every metric a threshold may name. */
export const KNOWN_METRICS: Readonly<Record<string, MetricInfo>> = Object.freeze({
  sendToAck: { kind: 'histogram', unit: 'ms', description: 'send to the server ack, ms' },
  sendToDelivered: { kind: 'histogram', unit: 'ms', description: 'send to delivery on another member\'s phone, ms' },
  sendToRead: { kind: 'histogram', unit: 'ms', description: 'send to the read receipt, ms' },
  fanOut: { kind: 'histogram', unit: 'ms', description: 'server store to the last render by push on a member\'s phone, ms (the same samples as A11)' },
  reconnect: { kind: 'histogram', unit: 'ms', description: 'link loss to reconnected and synced, ms' },
  syncMessages: { kind: 'histogram', unit: 'count', description: 'messages fetched per sync' },
  deliveredPerSec: { kind: 'value', unit: 'perSec', description: 'messages delivered per second' },
  sentPerSec: { kind: 'value', unit: 'perSec', description: 'messages sent per second' },
  errorRate: { kind: 'value', unit: 'ratio', description: 'error frames per frame sent, 0..1' },
  reconnects: { kind: 'value', unit: 'count', description: 'reconnections in the run' },
  messagesSent: { kind: 'value', unit: 'count', description: 'messages sent in the run' },
  messagesAcked: { kind: 'value', unit: 'count', description: 'messages acked in the run' },
});

export const HISTOGRAM_METRICS = Object.keys(KNOWN_METRICS).filter((m) => KNOWN_METRICS[m]!.kind === 'histogram');
export const VALUE_METRICS = Object.keys(KNOWN_METRICS).filter((m) => KNOWN_METRICS[m]!.kind === 'value');

const PERCENTILES: Record<string, ThresholdStat> = { '50': 'p50', '90': 'p90', '95': 'p95', '99': 'p99', '99.9': 'p99.9' };
const NAMED_STATS: Record<string, ThresholdStat> = { max: 'max', min: 'min', avg: 'mean', mean: 'mean', med: 'p50' };
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const SYNTAX = 'expected "<metric> [<stat>] <op> <limit>", e.g. "sendToAck p(99) < 500ms" or "errorRate < 0.01"';

export function parseThreshold(text: string): ParseThresholdResult {
  const fail = (message: string): ParseThresholdResult => ({ ok: false, message });
  if (typeof text !== 'string' || text.trim() === '') return fail(`empty threshold: ${SYNTAX}`);
  const opMatch = /(<=|>=|==|!=|=>|=<|<|>|=)/.exec(text);
  if (!opMatch) return fail(`no comparison operator (one of <, <=, >, >=, ==): ${SYNTAX}`);
  const rawOp = opMatch[1]!;
  if (!['<', '<=', '>', '>=', '=='].includes(rawOp)) return fail(`operator "${rawOp}" is not supported; use one of <, <=, >, >=, ==`);
  const op = rawOp as ThresholdOp;
  const left = text.slice(0, opMatch.index).trim().replace(/\(\s*/g, '(').replace(/\s*\)/g, ')').replace(/\{[^}]*\}/g, (braces) => braces.replace(/\s+/g, ''));
  const right = text.slice(opMatch.index + rawOp.length).trim();

  const words = left.split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return fail(`no metric before "${op}": ${SYNTAX}`);
  if (words.length > 2) return fail(`too many words before "${op}" ("${left}"): ${SYNTAX}`);
  const filter = /^([^{]*)(?:\{([^}]*)\})?$/.exec(words[0]!);
  if (!filter) return fail(`"${words[0]}" is not a metric with an optional tag filter, e.g. "sendToAck{connected:true}"`);
  const metric = filter[1]!;
  const info = KNOWN_METRICS[metric];
  if (!info || !Object.prototype.hasOwnProperty.call(KNOWN_METRICS, metric)) {
    const hint = didYouMean(metric, [...HISTOGRAM_METRICS, ...VALUE_METRICS]);
    if (hint) return fail(`unknown metric "${metric}"${hint}`);
    return fail(`unknown metric "${metric}"; known metrics: histograms ${HISTOGRAM_METRICS.join(', ')}; values ${VALUE_METRICS.join(', ')}`);
  }

  const tags = parseTagFilter(metric, filter[2]);
  if (!tags.ok) return fail(tags.message);

  let stat: ThresholdStat = 'value';
  const rawStat = words[1];
  if (rawStat !== undefined) {
    const p = /^p\(([0-9.]+)\)$/i.exec(rawStat);
    if (p) {
      const key = String(Number(p[1]));
      const found = PERCENTILES[key];
      if (!found) return fail(`percentile "${rawStat}" is not supported; use p(50), p(90), p(95), p(99) or p(99.9)`);
      stat = found;
    } else {
      const found = NAMED_STATS[rawStat.toLowerCase()];
      if (!found) return fail(`unknown stat "${rawStat}"; use p(50), p(90), p(95), p(99), p(99.9), min, max or avg`);
      stat = found;
    }
    if (info.kind === 'value') return fail(`${metric} is a single value, not a histogram: drop the stat "${rawStat}" (e.g. "${metric} ${op} ${right || '1'}")`);
  } else if (info.kind === 'histogram') {
    return fail(`${metric} is a histogram: give a stat, e.g. "${metric} p(99) ${op} ${right || '500ms'}" (p(50), p(90), p(95), p(99), p(99.9), min, max or avg)`);
  }

  if (right === '') return fail(`no limit after "${op}": ${SYNTAX}`);
  const limitMatch = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z%]+)?$/.exec(right);
  if (!limitMatch) return fail(`limit "${right}" is not a non-negative number${info.unit === 'ms' ? ' with an optional unit (ms, s, m, h)' : ''}`);
  let limit = Number(limitMatch[1]);
  const unit = limitMatch[2];
  if (unit !== undefined) {
    if (info.unit !== 'ms') return fail(`${metric} is not a duration (${info.description}): write the limit "${right}" without a unit`);
    if (!Object.prototype.hasOwnProperty.call(UNIT_MS, unit)) return fail(`unknown unit "${unit}" in limit "${right}"; use ms, s, m or h`);
    limit = Math.round(limit * UNIT_MS[unit as keyof typeof UNIT_MS] * 1000) / 1000;
  }
  if (!Number.isFinite(limit)) return fail(`limit "${right}" is not a finite number`);
  return { ok: true, threshold: { text, metric, tags: tags.tags, stat, op, limit } };
}

/** Metrics whose samples carry tags (see simulator/metrics/taggedSamples.ts). */
export const TAGGED_THRESHOLD_METRICS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  sendToAck: ['profile', 'chat', 'size', 'gateway', 'phase', 'connected'],
  sendToDelivered: ['profile', 'chat', 'size', 'gateway', 'phase', 'connected'],
  sendToRead: ['profile', 'chat', 'size', 'gateway', 'phase', 'connected'],
  fanOut: ['chat', 'size', 'phase'],
});

function parseTagFilter(metric: string, body: string | undefined): { ok: true; tags: Record<string, string> } | { ok: false; message: string } {
  const tags: Record<string, string> = {};
  if (body === undefined) return { ok: true, tags };
  const allowed = TAGGED_THRESHOLD_METRICS[metric];
  if (!allowed || !Object.prototype.hasOwnProperty.call(TAGGED_THRESHOLD_METRICS, metric)) {
    return { ok: false, message: `${metric} takes no tag filter; tagged metrics: ${Object.keys(TAGGED_THRESHOLD_METRICS).join(', ')}` };
  }
  for (const pair of body.split(',')) {
    const colon = pair.indexOf(':');
    const name = colon < 0 ? pair : pair.slice(0, colon);
    const value = colon < 0 ? '' : pair.slice(colon + 1);
    if (name === '' || value === '') return { ok: false, message: `tag filter "{${body}}" must be name:value pairs separated by commas, e.g. {profile:good-4g,connected:true}` };
    if (!allowed.includes(name)) return { ok: false, message: `unknown tag "${name}" for ${metric}${didYouMean(name, allowed) || `; its tags: ${allowed.join(', ')}`}` };
    tags[name] = value;
  }
  return { ok: true, tags };
}

/** Checks a threshold against a run's metrics; a metric the lookup cannot find fails. */
export function evaluateThreshold(
  threshold: Threshold,
  lookup: (metric: string, stat: string) => number | undefined,
): { ok: boolean; actual: number | undefined } {
  const actual = lookup(threshold.metric, threshold.stat);
  if (actual === undefined || typeof actual !== 'number' || Number.isNaN(actual)) return { ok: false, actual: actual === undefined ? undefined : actual };
  return { ok: compare(actual, threshold.op, threshold.limit), actual };
}

function compare(actual: number, op: ThresholdOp, limit: number): boolean {
  switch (op) {
    case '<': return actual < limit;
    case '<=': return actual <= limit;
    case '>': return actual > limit;
    case '>=': return actual >= limit;
    case '==': return actual === limit;
  }
}
