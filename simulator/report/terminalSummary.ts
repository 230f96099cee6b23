import { Chalk, type ChalkInstance } from 'chalk';
import type { RunProgress } from './RunProgress.ts';
import { KNOWN_METRICS } from '../scenario/thresholds.ts';
import { exampleKey, failuresCausesFirst, rootCauseOf, shrinkCommand } from './rootCause.ts';
import { EXIT_CODE_MEANINGS, type LatencySummary, type PropertySummary, type Summary, type SummaryLatencyMetric } from './Summary.ts';

const LATENCY_ROWS: readonly SummaryLatencyMetric[] = ['sendToAck', 'sendToDelivered', 'sendToRead', 'fanOut', 'reconnect'];

/**
 * The end-of-run table for a terminal. Colour only when the caller says so (it knows about
 * TTYs and NO_COLOR); without colour the text is identical, so logs and tests read the same.
 */
export function formatSummary(summary: Summary, options: { color: boolean; runDir?: string }): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const sections = [
    verdictLines(summary, c),
    rootCauseLines(summary, c, options.runDir),
    propertyLines(summary, c),
    thresholdLines(summary, c),
    faultsNotTakenLines(summary, c),
    metricLines(summary),
    latencyLines(summary),
    breakdownLines(summary),
    generatorLines(summary, c),
    [`reproduce: ${summary.reproduce}`],
  ];
  return sections.filter((lines) => lines.length > 0).map((lines) => lines.join('\n')).join('\n\n');
}

function verdictLines(s: Summary, c: ChalkInstance): string[] {
  const word = s.verdict === 'pass' ? c.bold.green('PASS') : c.bold.red('FAIL');
  const lines = [`${word}  exit ${s.exitCode}: ${EXIT_CODE_MEANINGS[s.exitCode] ?? 'unknown'}`,
    `scenario ${s.scenario.name} (${s.scenario.path})  seed ${s.seed}  engine ${s.engine}  load ${formatMs(s.durationMs)}`];
  if (s.runFailed) lines.push(c.red(`run failed: ${s.runFailed.code}: ${s.runFailed.message}`));
  return lines;
}

/** The scenario's faults the target could not take: never a silent skip. */
function faultsNotTakenLines(s: Summary, c: ChalkInstance): string[] {
  const notTaken = s.faultsNotTaken ?? [];
  if (notTaken.length === 0) return [];
  return [c.bold.yellow(`faults not taken (${notTaken.length} of the scenario's, not played):`),
    ...notTaken.map((f) => `  ${f.kind} at ${formatMs(f.atMs)} (${f.label}): ${f.reason}`)];
}

/** A failed run names its most likely cause first, then the rest as likely consequences, then how to shrink it. */
function rootCauseLines(s: Summary, c: ChalkInstance, runDir: string | undefined): string[] {
  const cause = rootCauseOf(s.properties);
  if (!cause) return [];
  const lines = [c.bold(`root cause, most likely: ${cause.lead.property.id} ${cause.lead.property.name}`)];
  if (cause.lead.example) lines.push(`  ${cause.lead.example}`);
  if (cause.others.length > 0) lines.push(`also failing, most likely as a consequence: ${cause.others.map((o) => o.property.id).join(', ')}`);
  if (runDir) lines.push(`shrink it to a small case: ${shrinkCommand(runDir)}`);
  return lines;
}

/** Failures first, causes before symptoms, then the rest in catalogue order; an example already shown above is not repeated. */
function propertyLines(s: Summary, c: ChalkInstance): string[] {
  if (s.properties.length === 0) return [];
  const failed = failuresCausesFirst(s.properties);
  const ordered = [...failed, ...s.properties.filter((p) => p.verdict !== 'fail')];
  const shown = new Set<string>();
  const exampleOf = (p: PropertySummary): string => {
    const example = p.examples.find((e) => !shown.has(exampleKey(e)));
    if (example === undefined) return p.examples.length > 0 ? '(same case as above)' : p.reason ?? '';
    shown.add(exampleKey(example));
    return example;
  };
  const rows = ordered.map((p) => [p.id, p.name, verdictWord(p.verdict, c), String(p.violations), exampleOf(p)]);
  return ['properties', ...table([['id', 'property', 'verdict', 'violations', 'example'], ...rows])];
}

function verdictWord(verdict: 'pass' | 'fail' | 'unknown', c: ChalkInstance): string {
  if (verdict === 'pass') return c.green('✓ pass');
  if (verdict === 'fail') return c.red('✗ fail');
  return c.yellow('? unknown');
}

function thresholdLines(s: Summary, c: ChalkInstance): string[] {
  if (s.thresholds.length === 0) return [];
  // What was measured and what it was held to, each with its unit: `sendToAck p(95)  7.9s  < 5s`.
  const rows = s.thresholds.map((t) => {
    const at = t.op ? t.expression.lastIndexOf(t.op) : -1;
    const subject = at > 0 ? t.expression.slice(0, at).trim() : t.expression;
    const limit = t.op && t.limit !== null && t.limit !== undefined ? `${t.op} ${formatThresholdValue(t.expression, t.limit)}` : '-';
    return [t.ok ? c.green('✓') : c.red('✗'), subject, t.actual === null ? 'no data' : formatThresholdValue(t.expression, t.actual), limit];
  });
  return ['thresholds', ...table([['', 'threshold', 'actual', 'limit'], ...rows])];
}

function metricLines(s: Summary): string[] {
  const m = s.metrics;
  const frames = m.messagesSent > 0 ? `${formatNumber(sumOf(m.frames.out) / m.messagesSent)} out, ${formatNumber(sumOf(m.frames.in) / m.messagesSent)} in per message sent` : 'no messages';
  const errors = Object.entries(m.errors).map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
  return ['metrics', ...table([
    ['phones', String(m.phones)],
    ['messages', `${m.messagesSent} sent, ${m.messagesAcked} acked, ${m.deliveries} delivered`],
    ['throughput', `${formatNumber(m.throughputPerSec.sent)} sent/s, ${formatNumber(m.throughputPerSec.delivered)} delivered/s`],
    ['frames', `${frames}; ${formatNumber(m.frames.acksPerDelivered)} acks per delivery`],
    ['receipts', `${m.frames.receiptsSavedByDebounce} saved by debounce, ${formatNumber(m.frames.piggybackShare * 100)}% piggybacked`],
    ['reconnects', String(m.reconnects)],
    ['errors', `${errors} (rate ${formatNumber(m.errorRate)})`],
  ])];
}

function latencyLines(s: Summary): string[] {
  const row = (name: string, l: LatencySummary, unit: (n: number) => string): string[] =>
    [name, String(l.count), ...[l.p50, l.p95, l.p99, l.max].map((v) => (v === null ? '-' : unit(v)))];
  const rows = LATENCY_ROWS.map((metric) => row(metric, s.metrics.latencyMs[metric], formatMs));
  rows.push(row('syncMessages', s.metrics.syncMessages, String));
  return ['latency', ...table([['metric', 'count', 'p50', 'p95', 'p99', 'max'], ...rows], [false, true, true, true, true, true])];
}

/** p95 per tag value for the send-side latencies: which slice of the run a tail belongs to. */
function breakdownLines(s: Summary): string[] {
  if (!s.breakdowns) return [];
  const rows: string[][] = [];
  for (const metric of ['sendToAck', 'sendToDelivered'] as const) {
    const byTag = s.breakdowns[metric];
    for (const tag of ['connected', 'profile', 'chat']) {
      const slices = Object.entries(byTag).filter(([key, stats]) => key.startsWith(`${tag}:`) && stats.count > 0);
      if (slices.length > 0) rows.push([metric, tag, slices.map(([key, stats]) => `${key.slice(tag.length + 1)} ${stats.p95 === null ? '-' : formatMs(stats.p95)} (${stats.count})`).join(', ')]);
    }
  }
  return rows.length === 0 ? [] : ['p95 by tag (samples)', ...table([['metric', 'tag', 'p95 per value'], ...rows])];
}

function generatorLines(s: Summary, c: ChalkInstance): string[] {
  const g = s.generator;
  const lines = [`generator: cpu ${formatNumber(g.cpuPercent)}%, event-loop lag p99 ${formatMs(g.eventLoopLagMsP99)}`];
  if (g.warning) lines.push(c.bold.yellow(`WARNING: ${g.warning}`));
  return lines;
}

/** Left-aligned columns (right-aligned where asked), two spaces apart, indented by two. */
function table(rows: string[][], rightAligned: boolean[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell)); });
  return rows.map((row) => `  ${row.map((cell, i) => pad(cell, widths[i] ?? 0, rightAligned[i] === true)).join('  ')}`.trimEnd());
}

function pad(cell: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(cell)));
  return right ? fill + cell : cell + fill;
}

/** Length without ANSI colour codes, so coloured cells line up. */
function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

function sumOf(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

/** Durations the way people read them: 850ms, 1.2s, 2m05s. */
/** A threshold's measured value in its metric's unit: durations as durations, the rest as numbers. */
export function formatThresholdValue(expression: string, actual: number): string {
  const metric = /^\s*([A-Za-z]+)/.exec(expression)?.[1] ?? '';
  const unit = Object.prototype.hasOwnProperty.call(KNOWN_METRICS, metric) ? KNOWN_METRICS[metric]!.unit : undefined;
  if (unit === 'ms') return formatMs(actual);
  if (unit === 'perSec') return `${formatNumber(actual)}/s`;
  return formatNumber(actual);
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${trim(ms / 1000, 2)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return trim(n, Math.abs(n) < 1 ? 3 : 1);
}

function trim(n: number, digits: number): string {
  return String(Number(n.toFixed(digits)));
}

/** Rate state between progress lines: the previous call's elapsed time and delivered count. */
let previous: { elapsedMs: number; delivered: number; sent: number } | undefined;

/** A part of the progress line: its text, how much it matters when the terminal is narrow (1 first), its colour. */
interface ProgressPart {
  text: string;
  rank: number;
  paint?: (c: ChalkInstance, text: string) => string;
}

/**
 * One progress line: elapsed, phase, connected/phones, sent, acked, delivered (with rates since
 * the last line), the live p99s (delivery: store to render by push; ack: sendToAck; over the last
 * 5 s, simulator/engine/liveLatency.ts) and errors. With `columns` (a terminal's width) the line
 * keeps the parts that matter most and fits in `columns - 1` characters, so it never wraps and a
 * rewrite in place leaves nothing behind; without, every part is there (CI logs).
 */
export function progressLine(p: RunProgress, options: { columns?: number; color?: boolean } = {}): string {
  const rates = ratesSince(p);
  previous = { elapsedMs: p.elapsedMs, delivered: p.delivered, sent: p.sent };
  const p99 = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '-' : formatMs(ms));
  // On a terminal, sends and deliveries show their rates only and counts past 9999 are shortened (12.3k, 1.23M).
  const n = options.columns === undefined ? String : compactCount;
  const rate = (perSec: number): string => (options.columns === undefined ? formatNumber(perSec) : compactCount(Math.round(perSec)));
  const parts: ProgressPart[] = [
    { text: `[${formatMs(Math.max(0, p.elapsedMs))}]`, rank: 1 },
    { text: p.phase, rank: 2, paint: (c, t) => (p.phase === 'load' ? c.cyan(t) : c.yellow(t)) },
    { text: `phones ${p.connected}/${p.phones}`, rank: 3 },
    { text: options.columns === undefined ? `sent ${p.sent} (${rate(rates.sentPerSec)}/s)` : `sent ${rate(rates.sentPerSec)}/s`, rank: 7 },
    { text: `acked ${n(p.acked)}`, rank: 9 },
    { text: options.columns === undefined ? `delivered ${p.delivered} (${rate(rates.deliveredPerSec)}/s)` : `delivered ${rate(rates.deliveredPerSec)}/s`, rank: 5 },
    { text: `p99 delivery ${p99(p.deliveryP99Ms)}`, rank: 4 },
    { text: `ack ${p99(p.ackP99Ms)}`, rank: 8 },
    { text: `errors ${n(p.errors)}`, rank: 6, paint: (c, t) => (p.errors > 0 ? c.red(t) : t) },
  ];
  const separator = '  ';
  const kept = options.columns === undefined ? parts : fitParts(parts, options.columns - 1, separator);
  const c = new Chalk({ level: options.color ? 1 : 0 });
  return kept.map((part) => (part.paint ? part.paint(c, part.text) : part.text)).join(separator);
}

/** 9999, 12.3k, 1.23M: three significant digits past four. */
function compactCount(value: number): string {
  if (Math.abs(value) < 10_000) return String(value);
  if (Math.abs(value) < 1_000_000) return `${Number((value / 1000).toPrecision(3))}k`;
  return `${Number((value / 1_000_000).toPrecision(3))}M`;
}

/** Drops the least important parts until the line fits in `width`; cuts the last one short if even the first do not. */
function fitParts(parts: ProgressPart[], width: number, separator: string): ProgressPart[] {
  const widthOf = (list: ProgressPart[]): number => list.reduce((n, part) => n + part.text.length, 0) + separator.length * Math.max(0, list.length - 1);
  let kept = [...parts];
  while (kept.length > 1 && widthOf(kept) > width) {
    const least = Math.max(...kept.map((part) => part.rank));
    kept = kept.filter((part) => part.rank !== least);
  }
  if (widthOf(kept) <= width) return kept;
  const cut = Math.max(0, width - 1);
  return [{ ...kept[0]!, text: `${kept[0]!.text.slice(0, cut)}\u2026`.slice(0, Math.max(0, width)) }];
}

function ratesSince(p: RunProgress): { sentPerSec: number; deliveredPerSec: number } {
  const base = previous && previous.elapsedMs < p.elapsedMs && previous.delivered <= p.delivered ? previous : { elapsedMs: 0, delivered: 0, sent: 0 };
  const seconds = (p.elapsedMs - base.elapsedMs) / 1000;
  if (seconds <= 0) return { sentPerSec: 0, deliveredPerSec: 0 };
  return { sentPerSec: Math.max(0, (p.sent - base.sent) / seconds), deliveredPerSec: Math.max(0, (p.delivered - base.delivered) / seconds) };
}
