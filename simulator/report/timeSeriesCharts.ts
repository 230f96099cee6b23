import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FaultWindow } from '../history/FaultWindow.ts';
import type { TimelineRow } from '../metrics/Metrics.ts';
import type { PointStats, TimeSeriesPoint } from '../metrics/tagBreakdown.ts';
import type { TaggedMetric } from '../metrics/taggedSamples.ts';
import type { RunPhase } from './Summary.ts';

/** Per second since t = 0: devices connected at the end of the second, and connections made again in it. */
export interface ConnectionSeries {
  connected: number[];
  reconnects: number[];
}

export interface TimeSeriesInput {
  timeline: TimelineRow[];
  connections?: ConnectionSeries;
  /** Tagged per-second percentiles: when present, the latency charts read them (HDR), and one chart per tag is added. */
  points?: readonly TimeSeriesPoint[];
  faults: readonly FaultWindow[];
  phases: readonly RunPhase[];
}

interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  series: Array<{ label: string; color: string; values: Array<number | null>; axis?: 'right' }>;
  rightUnit?: string;
}

/** Fault kinds drawn in one colour per class, so a crash and a graceful restart look different. */
export type FaultClass = 'crash' | 'graceful' | 'pause' | 'network' | 'loss' | 'other';

export function faultClassOf(f: Pick<FaultWindow, 'kind' | 'label'>): FaultClass {
  const text = `${f.kind} ${f.label ?? ''}`;
  if (/graceful|drain/.test(text)) return 'graceful';
  if (/kill|crash/.test(text)) return 'crash';
  if (/restart/.test(text)) return 'graceful';
  if (/pause|outage|latency|stall/.test(text)) return 'pause';
  if (/lose|loss|drop|duplicat|reorder/.test(text)) return 'loss';
  if (/partition|network|tunnel|offline|link/.test(text)) return 'network';
  return 'other';
}

/**
 * The report's time series as interactive charts: uPlot (MIT, about 50 KB, no dependencies),
 * inlined with its stylesheet so report.html stays one file that works offline. Drag to zoom
 * (every chart follows), double-click to reset. Fault windows and phases are positioned
 * elements over each plot (`.fault-band`, `.phase-marker`), moved on every zoom, so they are
 * in the DOM for a reader's tools and for tests, not only pixels on a canvas.
 */
export function timeSeriesCharts(input: TimeSeriesInput): { html: string; head: string } {
  const specs = chartSpecs(input);
  const payload = {
    seconds: secondsAxis(input),
    charts: specs,
    faults: input.faults.map((f) => ({ label: f.label ?? f.kind, cls: faultClassOf(f), fromS: f.startMs / 1000, toS: f.endMs / 1000 })),
    phases: input.phases.map((p) => ({ name: p.name, fromS: p.startMs / 1000, toS: p.endMs / 1000 })),
  };
  const containers = specs.map((s) => `<figure class="ts" id="chart-${s.id}" data-chart="${s.id}"><figcaption>${escapeHtml(s.title)}</figcaption><div class="ts-plot"></div></figure>`).join('\n');
  const html = `<div class="ts-help">Drag across a chart to zoom all charts; double-click to reset. Shaded: fault windows; dashed lines: phases.</div>
${containers}
<noscript><p class="warning">These charts need JavaScript (inlined, nothing is fetched).</p></noscript>
<script type="application/json" id="chart-data">${jsonInScript(payload)}</script>
<script>${scriptSafe(uplotSource().js)}</script>
<script>${scriptSafe(CHART_SCRIPT)}</script>`;
  return { html, head: `<style>${uplotSource().css}</style>` };
}

function secondsAxis(input: TimeSeriesInput): number[] {
  const lastTimeline = input.timeline.length > 0 ? input.timeline.at(-1)!.tMs / 1000 : 0;
  const lastConnections = input.connections ? input.connections.connected.length - 1 : 0;
  const lastPhase = Math.max(0, ...input.phases.map((p) => p.endMs / 1000), ...input.faults.map((f) => f.endMs / 1000));
  const last = Math.max(lastTimeline, lastConnections, Math.ceil(lastPhase), 1);
  return Array.from({ length: last + 1 }, (_, i) => i);
}

function chartSpecs(input: TimeSeriesInput): ChartSpec[] {
  const n = secondsAxis(input).length;
  const byS = new Map(input.timeline.map((r) => [Math.round(r.tMs / 1000), r]));
  const column = (pick: (r: TimelineRow) => number | null, zero: number | null): Array<number | null> =>
    Array.from({ length: n }, (_, s) => { const r = byS.get(s); return r ? pick(r) : zero; });
  const specs: ChartSpec[] = [
    {
      id: 'throughput', title: 'Messages per second', unit: 'msg/s', series: [
        { label: 'sent', color: '#2563eb', values: column((r) => r.sent, 0) },
        { label: 'delivered', color: '#16a34a', values: column((r) => r.delivered, 0) },
        { label: 'errors', color: '#dc2626', values: column((r) => r.errors, 0) },
      ],
    },
    {
      id: 'latency', title: 'Latency per second (ms)', unit: 'ms', series: [
        { label: 'sendToAck p50', color: '#0891b2', values: column((r) => r.sendToAckP50Ms, null) },
        { label: 'sendToAck p99', color: '#7c3aed', values: column((r) => r.sendToAckP99Ms, null) },
        { label: 'sendToDelivered p50', color: '#16a34a', values: column((r) => r.sendToDeliveredP50Ms, null) },
        { label: 'sendToDelivered p99', color: '#dc2626', values: column((r) => r.sendToDeliveredP99Ms, null) },
      ],
    },
  ];
  if (input.points) specs.splice(1, 1, ...pointCharts(input.points, n));
  if (input.connections) {
    const { connected, reconnects } = input.connections;
    const at = (values: number[], s: number, fill: number): number => values[s] ?? fill;
    specs.push({
      id: 'connections', title: 'Phones connected and reconnects', unit: 'phones', rightUnit: 'reconnects/s', series: [
        { label: 'connected', color: '#2563eb', values: Array.from({ length: n }, (_, s) => at(connected, s, connected.at(-1) ?? 0)) },
        { label: 'reconnects / s', color: '#d97706', axis: 'right', values: Array.from({ length: n }, (_, s) => at(reconnects, s, 0)) },
      ],
    });
  }
  return specs;
}

const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

/** Latency from the tagged HDR points: overall p50/p99, then p95 per network profile and per connected state. */
function pointCharts(points: readonly TimeSeriesPoint[], n: number): ChartSpec[] {
  const column = (metric: TaggedMetric, series: string, stat: keyof PointStats): Array<number | null> =>
    Array.from({ length: n }, (_, s) => points[s]?.metrics[metric]?.[series]?.[stat] ?? null);
  const seriesOf = (metric: TaggedMetric, prefix: string): string[] => [...new Set(points.flatMap((p) => Object.keys(p.metrics[metric] ?? {})).filter((k) => k.startsWith(prefix)))].sort();
  const perTag = (id: string, title: string, metric: TaggedMetric, prefix: string): ChartSpec => ({
    id, title, unit: 'ms',
    series: seriesOf(metric, prefix).map((key, i) => ({ label: key.slice(prefix.length), color: PALETTE[i % PALETTE.length]!, values: column(metric, key, 'p95') })),
  });
  return [
    {
      id: 'latency', title: 'Latency per second (ms)', unit: 'ms', series: [
        { label: 'sendToAck p50', color: '#0891b2', values: column('sendToAck', 'all', 'p50') },
        { label: 'sendToAck p99', color: '#7c3aed', values: column('sendToAck', 'all', 'p99') },
        { label: 'sendToDelivered p50', color: '#16a34a', values: column('sendToDelivered', 'all', 'p50') },
        { label: 'sendToDelivered p99', color: '#dc2626', values: column('sendToDelivered', 'all', 'p99') },
      ],
    },
    perTag('ack-by-profile', 'sendToAck p95 per network profile (ms)', 'sendToAck', 'profile:'),
    perTag('delivered-by-connected', 'sendToDelivered p95, recipient connected when sent or not (ms)', 'sendToDelivered', 'connected:'),
  ];
}

let uplotCache: { js: string; css: string } | undefined;

function uplotSource(): { js: string; css: string } {
  if (!uplotCache) {
    const require = createRequire(import.meta.url);
    uplotCache = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return uplotCache;
}

/** JSON inside a script element: every <, > and & as a \\u escape, so no text can end or re-open the element. */
function jsonInScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/** Inline script text may not contain `</script` or an HTML comment opener. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The page-side code: builds one uPlot per chart, keeps their zoom in step, draws bands and phases. */
const CHART_SCRIPT = String.raw`(function () {
  var data = JSON.parse(document.getElementById('chart-data').textContent);
  var charts = [];
  function overlays(u) {
    var over = u.over;
    var old = over.querySelectorAll('.fault-band, .phase-marker');
    for (var i = 0; i < old.length; i++) old[i].remove();
    var w = over.clientWidth;
    data.faults.forEach(function (f) {
      var left = Math.max(0, u.valToPos(f.fromS, 'x'));
      var right = Math.min(w, u.valToPos(Math.max(f.toS, f.fromS + 0.2), 'x'));
      if (!(right > left)) return;
      var band = document.createElement('div');
      band.className = 'fault-band fault-' + f.cls;
      band.title = f.label + ' (' + f.fromS.toFixed(1) + ' s to ' + f.toS.toFixed(1) + ' s)';
      band.style.left = left + 'px';
      band.style.width = Math.max(3, right - left) + 'px';
      var label = document.createElement('span');
      label.className = 'fault-label';
      label.textContent = f.label;
      band.appendChild(label);
      over.appendChild(band);
    });
    data.phases.forEach(function (p) {
      var x = u.valToPos(p.fromS, 'x');
      if (x < 0 || x > w) return;
      var marker = document.createElement('div');
      marker.className = 'phase-marker phase-' + p.name;
      marker.style.left = x + 'px';
      var label = document.createElement('span');
      label.textContent = p.name;
      marker.appendChild(label);
      over.appendChild(marker);
    });
  }
  data.charts.forEach(function (spec) {
    var root = document.querySelector('#chart-' + spec.id + ' .ts-plot');
    var series = [{ label: 'time (s)' }].concat(spec.series.map(function (s) {
      return { label: s.label, stroke: s.color, width: 1.5, scale: s.axis === 'right' ? 'right' : 'y', spanGaps: false, points: { show: false } };
    }));
    var axes = [{ label: 'time since start (s)' }, { label: spec.unit, scale: 'y' }];
    if (spec.rightUnit) axes.push({ label: spec.rightUnit, scale: 'right', side: 1, grid: { show: false } });
    var opts = {
      width: Math.max(320, root.clientWidth), height: 240, series: series, axes: axes,
      scales: { x: { time: false } },
      // One sync key: a drag on any chart zooms them all (uPlot replays the selection on each).
      cursor: { drag: { x: true, y: false, setScale: true }, sync: { key: 'chatsim' } },
      legend: { live: true },
      hooks: { ready: [overlays], setScale: [function (u, key) { if (key === 'x') overlays(u); }], setSize: [overlays] },
    };
    var values = [data.seconds].concat(spec.series.map(function (s) { return s.values; }));
    var u = new uPlot(opts, values, root);
    u.root.dataset.chart = spec.id;
    charts.push(u);
  });
  function reset() {
    charts.forEach(function (u) { u.setScale('x', { min: data.seconds[0], max: data.seconds[data.seconds.length - 1] }); });
  }
  charts.forEach(function (u) { u.over.addEventListener('dblclick', reset); });
  window.addEventListener('resize', function () {
    charts.forEach(function (u) { var root = u.root.parentNode; u.setSize({ width: Math.max(320, root.clientWidth), height: 240 }); });
  });
  window.chatsimCharts = charts;
})();`;
