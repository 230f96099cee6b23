import type { FaultWindow } from '../engine/LiveRun.ts';
import type { HistogramSnapshot, MetricsSnapshot, TimelineRow } from '../metrics/Metrics.ts';
import { barChart, escapeXml, lineChart, type Band, type BarGroup } from './svgCharts.ts';
import { EXIT_CODE_MEANINGS, type Summary } from './Summary.ts';
import { formatMs, formatNumber } from './terminalSummary.ts';

export interface ReportInput {
  summary: Summary;
  metrics: MetricsSnapshot;
  faults: FaultWindow[];
}

const COLORS = { sent: '#2563eb', delivered: '#16a34a', p50: '#0891b2', p95: '#d97706', p99: '#dc2626' } as const;
const HISTOGRAM_CHARTS = ['sendToDelivered', 'sendToAck', 'sendToRead'] as const;

/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no external resource),
 * so it can be archived as a CI artifact and opened offline. All text is escaped.
 */
export function reportHtml(input: ReportInput): string {
  const { summary } = input;
  const title = `chatsim ${summary.scenario.name} seed ${summary.seed}: ${summary.verdict.toUpperCase()}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${header(summary)}
${propertiesSection(summary)}
${thresholdsSection(summary)}
<section id="charts"><h2>Over time</h2>
${throughputChart(input)}
${latencyChart(input)}
</section>
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
  'body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#111;max-width:1100px}',
  'table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #d1d5db;padding:4px 8px;text-align:left;vertical-align:top}',
  'th{background:#f3f4f6}.pass{color:#15803d;font-weight:bold}.fail{color:#b91c1c;font-weight:bold}.unknown{color:#a16207;font-weight:bold}',
  '.verdict{font-size:28px;padding:4px 12px;border-radius:6px;display:inline-block}.verdict.pass{background:#dcfce7}.verdict.fail{background:#fee2e2}',
  'code{background:#f3f4f6;padding:2px 4px;border-radius:3px}svg{display:block;margin:8px 0 20px;max-width:100%;height:auto}',
  '.warning{background:#fef3c7;border:1px solid #f59e0b;padding:8px;font-weight:bold}td.num{text-align:right;font-variant-numeric:tabular-nums}',
  'ul.examples{margin:0;padding-left:18px}',
].join('');

function header(s: Summary): string {
  const failed = s.runFailed ? `<p class="fail">The run could not complete: ${esc(s.runFailed.code)}: ${esc(s.runFailed.message)}</p>` : '';
  return `<header>
<h1>chatsim: ${esc(s.scenario.name)}</h1>
<p><span class="verdict ${s.verdict}">${s.verdict === 'pass' ? 'PASS' : 'FAIL'}</span> exit code ${s.exitCode}: ${esc(EXIT_CODE_MEANINGS[s.exitCode] ?? 'unknown')}</p>
<table><tbody>
<tr><th>scenario</th><td>${esc(s.scenario.name)} (<code>${esc(s.scenario.path)}</code>)</td></tr>
<tr><th>seed</th><td>${s.seed}</td></tr>
<tr><th>engine</th><td>${esc(s.engine)}</td></tr>
<tr><th>load duration</th><td>${esc(formatMs(s.durationMs))}</td></tr>
<tr><th>reproduce</th><td><code>${esc(s.reproduce)}</code></td></tr>
</tbody></table>
${failed}
</header>`;
}

function propertiesSection(s: Summary): string {
  const rows = s.properties.map((p) => {
    const examples = p.examples.length > 0 ? `<ul class="examples">${p.examples.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : esc(p.reason ?? '');
    return `<tr><td>${esc(p.id)}</td><td>${esc(p.name)}</td><td class="${p.verdict}">${p.verdict}</td><td class="num">${p.violations}</td><td>${examples}</td></tr>`;
  });
  return section('properties', 'Properties', ['id', 'property', 'verdict', 'violations', 'examples'], rows, 'No properties were checked.');
}

function thresholdsSection(s: Summary): string {
  const rows = s.thresholds.map((t) => `<tr><td class="${t.ok ? 'pass' : 'fail'}">${t.ok ? '✓' : '✗'}</td><td><code>${esc(t.expression)}</code></td><td class="num">${t.actual === null ? 'no data' : esc(formatNumber(t.actual))}</td></tr>`);
  return section('thresholds', 'Thresholds', ['', 'threshold', 'actual'], rows, 'No thresholds.');
}

function section(id: string, title: string, headings: string[], rows: string[], empty: string): string {
  const body = rows.length === 0 ? `<p>${esc(empty)}</p>`
    : `<table><thead><tr>${headings.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}

function faultBands(faults: FaultWindow[]): Band[] {
  return faults.map((f) => ({ label: f.kind, fromX: f.startMs / 1000, toX: f.endMs / 1000 }));
}

/** Seconds without activity have no row; for counts they are zeros, so fill them in. */
function filledTimeline(rows: TimelineRow[]): TimelineRow[] {
  if (rows.length === 0) return [];
  const byT = new Map(rows.map((r) => [r.tMs, r]));
  const filled: TimelineRow[] = [];
  for (let t = rows[0]!.tMs; t <= rows.at(-1)!.tMs; t += 1000) {
    filled.push(byT.get(t) ?? { tMs: t, sent: 0, delivered: 0, errors: 0, sendToAckP50Ms: null, sendToAckP99Ms: null, sendToDeliveredP50Ms: null, sendToDeliveredP99Ms: null });
  }
  return filled;
}

function throughputChart(input: ReportInput): string {
  const rows = filledTimeline(input.metrics.timeline);
  return lineChart({
    id: 'throughput', title: 'Messages per second', xLabel: 'time since start (s)', yLabel: 'messages / s', bands: faultBands(input.faults),
    series: [
      { name: 'sent', color: COLORS.sent, points: rows.map((r) => [r.tMs / 1000, r.sent]) },
      { name: 'delivered', color: COLORS.delivered, points: rows.map((r) => [r.tMs / 1000, r.delivered]) },
    ],
  });
}

function latencyChart(input: ReportInput): string {
  const rows = filledTimeline(input.metrics.timeline);
  return lineChart({
    id: 'latency', title: 'Send to delivered latency per second', xLabel: 'time since start (s)', yLabel: 'ms', bands: faultBands(input.faults),
    series: [
      { name: 'p50', color: COLORS.p50, points: rows.map((r) => [r.tMs / 1000, r.sendToDeliveredP50Ms]) },
      { name: 'p99', color: COLORS.p99, points: rows.map((r) => [r.tMs / 1000, r.sendToDeliveredP99Ms]) },
    ],
  });
}

function histogramChart(metric: string, h: HistogramSnapshot): string {
  const groups: BarGroup[] = h.buckets.map((b) => ({ label: formatMs(b.lowMs), bars: [{ label: `${formatMs(b.lowMs)}–${formatMs(b.highMs)}`, value: b.count }] }));
  const stats = h.count === 0 ? 'no samples' : `${h.count} samples, p50 ${formatMs(h.p50)}, p99 ${formatMs(h.p99)}, max ${formatMs(h.max)}`;
  return barChart({ id: `histogram-${metric}`, title: `${metric} (${stats})`, xLabel: 'latency (ms, log buckets)', yLabel: 'samples', groups });
}

/** The three ticks a sender sees (sent = server ack, delivered, read) as p50/p95/p99 bars. */
function ticksChart(s: Summary): string {
  const ticks = [['sent', s.metrics.latencyMs.sendToAck], ['delivered', s.metrics.latencyMs.sendToDelivered], ['read', s.metrics.latencyMs.sendToRead]] as const;
  const groups: BarGroup[] = ticks.map(([label, l]) => ({
    label,
    bars: (['p50', 'p95', 'p99'] as const).map((stat) => ({ label: stat, value: l[stat], color: COLORS[stat] })),
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
    `<tr><td>${esc(name)}</td>${[l.count, l.p50, l.p95, l.p99, l.max].map((v) => `<td class="num">${v}</td>`).join('')}</tr>`);
  return `<section id="metrics"><h2>Metrics</h2>
<table><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n')}</tbody></table>
<table><thead><tr><th>latency (ms; syncMessages in messages)</th><th>count</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr></thead><tbody>
${latencyRows.join('\n')}
</tbody></table></section>`;
}

function esc(text: string): string {
  return escapeXml(text);
}
