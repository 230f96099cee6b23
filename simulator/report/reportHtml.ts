import type { FaultWindow } from '../history/FaultWindow.ts';
import type { HistogramSnapshot, MetricsSnapshot } from '../metrics/Metrics.ts';
import type { TimeSeriesPoint } from '../metrics/tagBreakdown.ts';
import { failuresCausesFirst, rootCauseOf, shrinkCommand } from './rootCause.ts';
import { barChart, escapeXml, type BarGroup } from './svgCharts.ts';
import { EXIT_CODE_MEANINGS, type LatencySummary, type PropertySummary, type Summary } from './Summary.ts';
import { timeSeriesCharts, type ConnectionSeries } from './timeSeriesCharts.ts';
import { formatMs, formatNumber, formatThresholdValue } from './terminalSummary.ts';

export interface ReportInput {
  summary: Summary;
  metrics: MetricsSnapshot;
  faults: FaultWindow[];
  /** Phones connected and reconnects per second, from the history (absent: no such chart). */
  connections?: ConnectionSeries;
  /** The run directory, for the shrink command a failed run suggests. */
  runDir?: string;
  /** Per second, the tagged latency percentiles (HDR): the latency charts read these when present. */
  points?: TimeSeriesPoint[];
}

const COLORS = { sent: '#2563eb', delivered: '#16a34a', p50: '#0891b2', p95: '#d97706', p99: '#dc2626' } as const;
const HISTOGRAM_CHARTS = ['sendToDelivered', 'sendToAck', 'sendToRead'] as const;

/**
 * report.html: one self-contained page (inline CSS, inline script and charting library, no
 * external resource), so it can be archived as a CI artifact and opened offline. All text is
 * escaped. Read top down: the verdict and the numbers that matter, the root cause of a failed
 * run, the charts over time, then the properties (failures open, the rest folded) and details.
 */
export function reportHtml(input: ReportInput): string {
  const { summary } = input;
  const title = `chatsim ${summary.scenario.name} seed ${summary.seed}: ${summary.verdict.toUpperCase()}`;
  const series = timeSeriesCharts({
    timeline: input.metrics.timeline, faults: input.faults, phases: summary.phases ?? [],
    ...(input.connections ? { connections: input.connections } : {}), ...(input.points ? { points: input.points } : {}),
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${STYLE}</style>
${series.head}
</head>
<body>
${header(summary)}
${keyNumbers(summary)}
${rootCauseSection(summary, input.runDir)}
<section id="charts"><h2>Over time</h2>
${series.html}
</section>
${propertiesSection(summary)}
${thresholdsSection(summary)}
${breakdownSection(summary)}
<section id="histograms"><h2>Latency distributions</h2>
${HISTOGRAM_CHARTS.map((metric) => histogramChart(metric, input.metrics.histograms[metric])).join('\n')}
${ticksChart(summary)}
</section>
${generatorSection(summary)}
${metricsSection(summary)}
</body>
</html>
`;
}

const STYLE = [
  'body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px 24px;color:#111;max-width:1240px}',
  'h1{font-size:20px;margin:0}h2{font-size:17px;margin:18px 0 6px}',
  'header{display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px}header .meta{color:#4b5563;font-size:13px}',
  'table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #d1d5db;padding:4px 8px;text-align:left;vertical-align:top}',
  'th{background:#f3f4f6}.pass{color:#15803d;font-weight:bold}.fail{color:#b91c1c;font-weight:bold}.unknown{color:#a16207;font-weight:bold}',
  '.verdict{font-size:22px;padding:2px 12px;border-radius:6px;display:inline-block}.verdict.pass{background:#dcfce7}.verdict.fail{background:#fee2e2}',
  '.tiles{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}.tile{flex:1 1 0;border:1px solid #e5e7eb;border-radius:6px;padding:3px 8px;min-width:96px}',
  '.tile b{display:block;font-size:17px;white-space:nowrap;font-variant-numeric:tabular-nums}.tile span{color:#4b5563;font-size:12px}.tile.bad{border-color:#fca5a5;background:#fef2f2}',
  '#root-cause{border:2px solid #fca5a5;background:#fff7f7;border-radius:6px;padding:6px 12px;margin:8px 0}#root-cause h2{margin:2px 0 4px}',
  '#root-cause p{margin:4px 0}#root-cause ul{margin:4px 0;padding-left:20px;font-size:13px}#root-cause li{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}',
  'code{background:#f3f4f6;padding:2px 4px;border-radius:3px}svg{display:block;margin:8px 0 20px;max-width:100%;height:auto}',
  '.warning{background:#fef3c7;border:1px solid #f59e0b;padding:8px;font-weight:bold}td.num{text-align:right;font-variant-numeric:tabular-nums}',
  'ul.examples{margin:0;padding-left:18px}details>summary{cursor:pointer;color:#1d4ed8;margin:4px 0}',
  'figure.ts{margin:0 0 12px}figure.ts figcaption{font-weight:600;font-size:14px}.ts-help{color:#4b5563;font-size:12px;margin-bottom:4px}',
  '.fault-band{position:absolute;top:0;bottom:0;pointer-events:none;border-left:2px solid;border-right:1px dashed}',
  '.fault-band .fault-label{position:absolute;top:2px;left:3px;font-size:11px;font-weight:600;white-space:nowrap;background:rgba(255,255,255,.8);padding:0 2px}',
  '.fault-crash{background:rgba(220,38,38,.18);border-color:#dc2626;color:#991b1b}.fault-graceful{background:rgba(37,99,235,.14);border-color:#2563eb;color:#1e40af}',
  '.fault-pause{background:rgba(217,119,6,.18);border-color:#d97706;color:#92400e}.fault-network{background:rgba(124,58,237,.16);border-color:#7c3aed;color:#5b21b6}',
  '.fault-loss{background:rgba(75,85,99,.16);border-color:#4b5563;color:#1f2937}.fault-other{background:rgba(219,39,119,.14);border-color:#db2777;color:#9d174d}',
  '.phase-marker{position:absolute;top:0;bottom:0;border-left:2px dashed #6b7280;pointer-events:none}',
  '.phase-marker span{position:absolute;bottom:2px;left:3px;font-size:11px;color:#374151;background:rgba(255,255,255,.8);padding:0 2px}',
].join('');

function header(s: Summary): string {
  const failed = s.runFailed ? `<p class="fail">The run could not complete: ${esc(s.runFailed.code)}: ${esc(s.runFailed.message)}</p>` : '';
  const notTaken = (s.faultsNotTaken ?? []).map((f) => `<li><b>${esc(f.kind)}</b> at ${esc(formatMs(f.atMs))}: ${esc(f.reason)}</li>`);
  const faultsNotTaken = notTaken.length > 0 ? `<div id="faults-not-taken"><p>Faults of the scenario not taken (not played):</p><ul>${notTaken.join('')}</ul></div>` : '';
  const build = s.build ? `chatsim ${esc(s.build.version)}${s.build.commit ? ` (${esc(s.build.commit)})` : ''}, ${esc(s.build.finishedAt)}` : 'chatsim';
  return `<header>
<span id="verdict" class="verdict ${s.verdict}">${s.verdict === 'pass' ? 'PASS' : 'FAIL'}</span>
<h1>${esc(s.scenario.name)}</h1>
<span class="meta">exit ${s.exitCode}: ${esc(EXIT_CODE_MEANINGS[s.exitCode] ?? 'unknown')} · seed ${s.seed} · ${esc(s.engine)} engine · load ${esc(formatMs(s.durationMs))} · ${build}</span>
</header>
<p class="meta">reproduce: <code>${esc(s.reproduce)}</code> · scenario <code>${esc(s.scenario.path)}</code></p>
${failed}${faultsNotTaken}`;
}

/** The numbers a reader wants before any chart; a missing value shows as a dash, never 0. */
function keyNumbers(s: Summary): string {
  const m = s.metrics;
  const latency = (l: LatencySummary, stat: 'p95' | 'p99'): string => { const v = l[stat]; return l.count > 0 && v !== null ? formatMs(v) : '—'; };
  const failedProperties = s.properties.filter((p) => p.verdict === 'fail').length;
  const failedThresholds = s.thresholds.filter((t) => !t.ok).length;
  const tiles: Array<[string, string, boolean?]> = [
    [String(m.phones), 'phones'],
    [`${m.messagesAcked} / ${m.messagesSent}`, 'messages acked / sent'],
    [formatNumber(m.throughputPerSec.delivered), 'delivered / s'],
    [latency(m.latencyMs.sendToAck, 'p95'), 'sendToAck p95'],
    [latency(m.latencyMs.sendToAck, 'p99'), 'sendToAck p99'],
    [latency(m.latencyMs.sendToDelivered, 'p99'), 'sendToDelivered p99'],
    [String(m.reconnects), 'reconnects'],
    [`${failedProperties} / ${s.properties.length}`, 'properties failed', failedProperties > 0],
    [`${failedThresholds} / ${s.thresholds.length}`, 'thresholds failed', failedThresholds > 0],
  ];
  return `<div class="tiles" id="key-numbers">${tiles.map(([value, label, bad]) => `<div class="tile${bad ? ' bad' : ''}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`).join('')}</div>`;
}

/** A failed run leads with the property that explains the others, one example per cause, and how to shrink it. */
function rootCauseSection(s: Summary, runDir: string | undefined): string {
  const cause = rootCauseOf(s.properties);
  if (!cause) return '';
  const line = (p: PropertySummary, example: string | null): string => `<b>${esc(p.id)} ${esc(p.name)}</b> (${p.violations} violation${p.violations === 1 ? '' : 's'})${example ? `: ${esc(example)}` : ''}`;
  const others = cause.others.length === 0 ? '' : `<p>Also failing, most likely as a consequence:</p><ul>${cause.others.map((o) => `<li>${line(o.property, o.example)}</li>`).join('')}</ul>`;
  const shrink = runDir ? `<p>Shrink it to a small case: <code>${esc(shrinkCommand(runDir))}</code></p>` : '';
  return `<section id="root-cause"><h2>Root cause, most likely</h2>
<p id="root-cause-lead" data-property="${esc(cause.lead.property.id)}">${line(cause.lead.property, cause.lead.example)}</p>
${others}${shrink}</section>`;
}

function propertyRow(p: PropertySummary): string {
  const examples = p.examples.length > 0 ? `<ul class="examples">${p.examples.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : esc(p.reason ?? '');
  return `<tr data-property="${esc(p.id)}"><td>${esc(p.id)}</td><td>${esc(p.name)}</td><td class="${p.verdict}">${p.verdict}</td><td class="num">${p.violations}</td><td>${examples}</td></tr>`;
}

/** Failures open, causes first; every property (passes and unknowns too) folded below. */
function propertiesSection(s: Summary): string {
  if (s.properties.length === 0) return '<section id="properties"><h2>Properties</h2><p>No properties were checked.</p></section>';
  const headings = '<thead><tr><th>id</th><th>property</th><th>verdict</th><th>violations</th><th>examples</th></tr></thead>';
  const failed = failuresCausesFirst(s.properties);
  const failures = failed.length === 0 ? `<p class="pass">All ${s.properties.length} properties passed or could not be decided (unknown does not fail a run).</p>`
    : `<table id="failed-properties">${headings}<tbody>\n${failed.map(propertyRow).join('\n')}\n</tbody></table>`;
  const counts = (['pass', 'fail', 'unknown'] as const).map((v) => `${s.properties.filter((p) => p.verdict === v).length} ${v}`).join(', ');
  return `<section id="properties"><h2>Properties</h2>${failures}
<details id="all-properties"><summary>All ${s.properties.length} properties (${counts})</summary>
<table>${headings}<tbody>\n${s.properties.map(propertyRow).join('\n')}\n</tbody></table></details></section>`;
}

function thresholdsSection(s: Summary): string {
  const limitOf = (t: Summary['thresholds'][number]): string => (t.op && t.limit !== null && t.limit !== undefined ? `${t.op} ${formatThresholdValue(t.expression, t.limit)}` : '-');
  const rows = s.thresholds.map((t) => `<tr><td class="${t.ok ? 'pass' : 'fail'}">${t.ok ? '✓' : '✗'}</td><td><code>${esc(t.expression)}</code></td><td class="num">${t.actual === null ? 'no data' : esc(formatThresholdValue(t.expression, t.actual))}</td><td class="num">${esc(limitOf(t))}</td></tr>`);
  return section('thresholds', 'Thresholds', ['', 'threshold', 'actual', 'limit'], rows, 'No thresholds.');
}

/** Per tagged metric and tag value: count and percentiles, so a tail can be traced to its slice (a profile, the disconnected). */
function breakdownSection(s: Summary): string {
  if (!s.breakdowns) return '';
  const cell = (v: number | null): string => `<td class="num">${v === null ? '—' : esc(formatMs(v))}</td>`;
  const tables = Object.entries(s.breakdowns).map(([metric, byTag]) => {
    const rows = Object.entries(byTag).map(([key, st]) => `<tr><td>${esc(key)}</td><td class="num">${st.count}</td>${[st.p50, st.p95, st.p99, st.max].map(cell).join('')}</tr>`);
    return `<details${metric === 'sendToAck' ? ' open' : ''}><summary>${esc(metric)}</summary><table><thead><tr><th>slice</th><th>count</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`;
  });
  return `<section id="breakdowns"><h2>Latency by tag</h2>${tables.join('\n')}</section>`;
}

function section(id: string, title: string, headings: string[], rows: string[], empty: string): string {
  const body = rows.length === 0 ? `<p>${esc(empty)}</p>`
    : `<table><thead><tr>${headings.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}

function histogramChart(metric: string, h: HistogramSnapshot): string {
  const groups: BarGroup[] = h.buckets.map((b) => ({ label: formatMs(b.lowMs), bars: [{ label: `${formatMs(b.lowMs)}–${formatMs(b.highMs)}`, value: b.count }] }));
  const stats = h.count === 0 ? 'no samples' : `${h.count} samples, p50 ${formatMs(h.p50)}, p99 ${formatMs(h.p99)}, max ${formatMs(h.max)}`;
  return barChart({ id: `histogram-${metric}`, title: `${metric} (${stats})`, xLabel: 'latency (ms, log buckets)', yLabel: 'samples', groups });
}

/** The three ticks a sender sees (sent = server ack, delivered, read) as p50/p95/p99 bars. */
function ticksChart(s: Summary): string {
  const ticks = [['sent', s.metrics.latencyMs.sendToAck], ['delivered', s.metrics.latencyMs.sendToDelivered], ['read', s.metrics.latencyMs.sendToRead]] as const;
  // A tick with no samples has no bars (its stats are null), not bars of 0.
  const groups: BarGroup[] = ticks.filter(([, l]) => l.count > 0).map(([label, l]) => ({
    label,
    bars: (['p50', 'p95', 'p99'] as const).map((stat) => ({ label: stat, value: l[stat] ?? 0, color: COLORS[stat] })),
  }));
  return barChart({ id: 'ticks', title: 'Tick latencies (send to ✓ sent, ✓✓ delivered, read)', xLabel: 'tick', yLabel: 'ms', groups });
}

function generatorSection(s: Summary): string {
  const g = s.generator;
  const warning = g.warning ? `<p class="warning">${esc(g.warning)}</p>` : '<p>The load generator kept up: its numbers measure the target.</p>';
  return `<section id="generator"><h2>Load generator health</h2>${warning}
<table><tbody><tr><th>CPU (% of one core)</th><td class="num">${esc(formatNumber(g.cpuPercent))}</td></tr>
<tr><th>event-loop lag p99</th><td class="num">${esc(formatMs(g.eventLoopLagMsP99))}</td></tr></tbody></table></section>`;
}

function metricsSection(s: Summary): string {
  const m = s.metrics;
  const rows: Array<[string, string]> = [
    ['phones', String(m.phones)], ['messages sent', String(m.messagesSent)], ['messages acked', String(m.messagesAcked)],
    ['deliveries', String(m.deliveries)], ['sent / s', formatNumber(m.throughputPerSec.sent)], ['delivered / s', formatNumber(m.throughputPerSec.delivered)],
    ['acks per delivery', formatNumber(m.frames.acksPerDelivered)], ['receipts saved by debounce', String(m.frames.receiptsSavedByDebounce)],
    ['read receipts piggybacked', `${formatNumber(m.frames.piggybackShare * 100)}%`], ['reconnects', String(m.reconnects)],
    ['error rate (errors per frame sent)', formatNumber(m.errorRate)],
  ];
  const kv = (record: Record<string, number>): string => Object.entries(record).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  rows.push(['frames out', kv(m.frames.out)], ['frames in', kv(m.frames.in)], ['errors', kv(m.errors)]);
  const latencyRows = Object.entries(m.latencyMs).concat([['syncMessages', m.syncMessages]]).map(([name, l]) =>
    `<tr><td>${esc(name)}</td>${[l.count, l.p50, l.p95, l.p99, l.max].map((v) => `<td class="num">${v ?? '—'}</td>`).join('')}</tr>`);
  return `<section id="metrics"><h2>Metrics</h2>
<table><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n')}</tbody></table>
<table><thead><tr><th>latency (ms; syncMessages in messages)</th><th>count</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr></thead><tbody>
${latencyRows.join('\n')}
</tbody></table></section>`;
}

function esc(text: string): string {
  return escapeXml(text);
}
