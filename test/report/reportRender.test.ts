import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '../../simulator/report/writeReports.ts';
import { property, sampleMetrics, sampleSummary } from './fixtures.ts';

/**
 * Renders report.html in headless Chromium, the way a person opening the CI artifact sees it.
 * Chromium missing: a failure on CI (which installs it), a skip with a reason elsewhere.
 */
/** CHROMIUM_PATH, when set, is the only place looked at. */
const CANDIDATES = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const chromium = CANDIDATES.find((p) => existsSync(p));

if (!chromium && !process.env.CI) {
  console.warn(`reportRender: skipped, no Chromium at ${CANDIDATES.join(', ')} (install it with "apt-get install -y chromium" or set CHROMIUM_PATH)`);
}

const WIDTH = 1280;
const VIEW_HEIGHT = 800;

describe.skipIf(!chromium && !process.env.CI)('report.html in headless Chromium', () => {
  let dir = '';
  const reports: Record<'pass' | 'fail', string> = { pass: '', fail: '' };

  beforeAll(async () => {
    expect(chromium, `no Chromium found at ${CANDIDATES.join(', ')}; CI must install it (apt-get install -y chromium)`).toBeDefined();
    dir = await mkdtemp(join(tmpdir(), 'chatsim-render-'));
    const phases = [{ name: 'ramp' as const, startMs: 0, endMs: 3000 }, { name: 'load' as const, startMs: 3000, endMs: 20_000 }, { name: 'heal' as const, startMs: 20_000, endMs: 25_000 }];
    const faults = [{ kind: 'restart-chat-servers', label: 'chat servers crashed (restart)', startMs: 8000, endMs: 12_000 }];
    const failing = [
      property({ id: 'A5', verdict: 'fail', violations: 12, examples: ['d:u14:u23 seq 1 was acknowledged to u14/d1 at 0.945 s and never rendered on u23/d2'] }),
      property({ id: 'C1', name: 'watermark sync is exact', verdict: 'fail', violations: 3, examples: ['sync d1-s1 of u12/d1 for g:3 from watermark 10 started at seq 12'] }),
    ];
    for (const verdict of ['pass', 'fail'] as const) {
      const summary = sampleSummary({ phases, faults, ...(verdict === 'fail' ? { properties: failing } : {}) });
      const connections = { connected: Array.from({ length: 25 }, (_, s) => Math.min(12, s * 4)), reconnects: Array.from({ length: 25 }, (_, s) => (s >= 8 && s < 12 ? 3 : 0)) };
      const { files } = await writeReports(join(dir, verdict), { summary, metrics: sampleMetrics().snapshot(), faults, connections, runDir: join(dir, verdict) });
      reports[verdict] = files.find((f) => f.endsWith('report.html'))!;
    }
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const verdict of ['pass', 'fail'] as const) {
    it(`${verdict}: the verdict and the first chart are in view at ${WIDTH}x${VIEW_HEIGHT}, with no console error`, async () => {
      const m = await measure(reports[verdict]);
      expect(m.errors, 'console errors').toEqual([]);
      expect(m.verdict.bottom).toBeGreaterThan(0);
      expect(m.verdict.bottom).toBeLessThanOrEqual(VIEW_HEIGHT);
      expect(m.firstPlot.top).toBeGreaterThan(m.verdict.bottom);
      expect(m.firstPlot.bottom, 'the first chart\'s plot ends above the fold').toBeLessThanOrEqual(VIEW_HEIGHT);
    });
  }

  it('draws every time series with its lines, fault windows labelled by kind and phases', async () => {
    const m = await measure(reports.pass);
    expect(m.charts.map((c) => c.id)).toEqual(['throughput', 'latency', 'connections']);
    for (const chart of m.charts) {
      expect(chart.width, `${chart.id} width`).toBeGreaterThan(600);
      expect(chart.height, `${chart.id} plot height`).toBeGreaterThan(120);
      expect(chart.faults, `${chart.id} fault bands`).toEqual([{ label: 'chat servers crashed (restart)', cls: 'fault-band fault-crash', width: expect.any(Number) }]);
      expect(chart.faults[0]!.width, `${chart.id} fault band width`).toBeGreaterThan(40);
      expect(chart.phases, `${chart.id} phases`).toEqual(['ramp', 'load', 'heal']);
    }
  });

  it('zooms every chart together on a drag, and the fault windows follow', async () => {
    const m = await measure(reports.pass);
    expect(m.zoom.before.every((r) => r.min === 0 && r.max >= 24)).toBe(true);
    for (const after of m.zoom.after) {
      expect(after.min).toBeGreaterThan(3);
      expect(after.max).toBeLessThan(16);
    }
    expect(m.zoom.faultWidthAfter, 'the fault band widened with the zoom').toBeGreaterThan(m.zoom.faultWidthBefore * 1.5);
  });

  it('a failed run leads with its root cause: the cause before the symptom, and the shrink command', async () => {
    const m = await measure(reports.fail);
    expect(m.rootCause.lead).toBe('C1');
    expect(m.rootCause.top).toBeLessThan(m.firstPlot.top);
    expect(m.rootCause.text).toContain('chatsim shrink');
    expect(m.failedOrder).toEqual(['C1', 'A5']);
  });

  it('takes a non-trivial screenshot', async () => {
    const png = join(dir, 'report.png');
    await runChromium([`--screenshot=${png}`, `--window-size=${WIDTH},${VIEW_HEIGHT}`, '--hide-scrollbars', '--virtual-time-budget=3000', pathToFileURL(reports.fail).href]);
    expect((await stat(png)).size).toBeGreaterThan(30_000);
    const image = await readFile(png);
    expect(image.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(image.toString('ascii', 12, 16)).toBe('IHDR');
    expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([WIDTH, VIEW_HEIGHT]);
    expect(distinctPixelBytes(image)).toBeGreaterThan(50);
  });
});

interface Measured {
  errors: string[];
  verdict: { top: number; bottom: number };
  firstPlot: { top: number; bottom: number };
  charts: Array<{ id: string; width: number; height: number; faults: Array<{ label: string; cls: string; width: number }>; phases: string[] }>;
  zoom: { before: Array<{ min: number; max: number }>; after: Array<{ min: number; max: number }>; faultWidthBefore: number; faultWidthAfter: number };
  rootCause: { lead: string | null; top: number; text: string };
  failedOrder: string[];
}

const measured = new Map<string, Promise<Measured>>();

/** Opens a copy of the report with an error catcher first in <head> and a measuring script last in <body>. */
function measure(reportPath: string): Promise<Measured> {
  let result = measured.get(reportPath);
  if (!result) {
    result = (async () => {
      const html = await readFile(reportPath, 'utf8');
      const probe = html.replace('<head>', `<head><script>${CATCH_ERRORS}</script>`).replace('</body>', `<script>${MEASURE_SCRIPT}</script></body>`);
      const probePath = reportPath.replace(/\.html$/, '.probe.html');
      await writeFile(probePath, probe);
      const dom = await runChromium(['--dump-dom', `--window-size=${WIDTH},${VIEW_HEIGHT}`, '--virtual-time-budget=3000', pathToFileURL(probePath).href]);
      const json = /<pre id="measure">([\s\S]*?)<\/pre>/.exec(dom)?.[1];
      if (json === undefined) throw new Error('the measuring script did not run');
      return JSON.parse(json.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Measured;
    })();
    measured.set(reportPath, result);
  }
  return result;
}

const CATCH_ERRORS = `
window.__errors = [];
window.addEventListener('error', (e) => window.__errors.push('error: ' + e.message));
window.addEventListener('unhandledrejection', (e) => window.__errors.push('rejection: ' + e.reason));
const consoleError = console.error;
console.error = (...args) => { window.__errors.push('console.error: ' + args.join(' ')); consoleError.apply(console, args); };
`;

const MEASURE_SCRIPT = `
// uPlot applies a new scale on a microtask, so the zoom is read a tick after the drag.
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));
window.addEventListener('load', async () => {
  await tick();
  const rect = (el) => { const r = el.getBoundingClientRect(); return { top: r.top, bottom: r.bottom }; };
  const charts = window.chatsimCharts || [];
  const out = { errors: window.__errors };
  out.verdict = rect(document.getElementById('verdict'));
  out.firstPlot = charts.length ? rect(charts[0].over) : { top: -1, bottom: -1 };
  out.charts = charts.map((u) => ({
    id: u.root.dataset.chart, width: u.over.getBoundingClientRect().width, height: u.over.getBoundingClientRect().height,
    faults: [...u.over.querySelectorAll('.fault-band')].map((b) => ({ label: b.querySelector('.fault-label').textContent, cls: b.className, width: b.getBoundingClientRect().width })),
    phases: [...u.over.querySelectorAll('.phase-marker')].map((p) => p.textContent),
  }));
  const band = () => charts[1].over.querySelector('.fault-band');
  const zoom = { before: charts.map((u) => ({ min: u.scales.x.min, max: u.scales.x.max })), faultWidthBefore: band() ? band().getBoundingClientRect().width : 0 };
  if (charts.length) {
    const u = charts[0];
    const box = u.over.getBoundingClientRect();
    const y = box.top + box.height / 2;
    const at = (s) => box.left + u.valToPos(s, 'x');
    const fire = (target, type, x) => target.dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y, movementX: type === 'mousemove' ? 10 : 0, bubbles: true, button: 0, buttons: type === 'mouseup' ? 0 : 1 }));
    fire(u.over, 'mousedown', at(5));
    fire(u.over, 'mousemove', at(10));
    fire(u.over, 'mousemove', at(14));
    fire(document, 'mouseup', at(14));
    await tick();
  }
  zoom.after = charts.map((u) => ({ min: u.scales.x.min, max: u.scales.x.max }));
  zoom.faultWidthAfter = band() ? band().getBoundingClientRect().width : 0;
  out.zoom = zoom;
  const lead = document.getElementById('root-cause-lead');
  out.rootCause = { lead: lead ? lead.dataset.property : null, top: lead ? lead.getBoundingClientRect().top : -1, text: document.getElementById('root-cause') ? document.getElementById('root-cause').textContent : '' };
  out.failedOrder = [...document.querySelectorAll('#failed-properties tr[data-property]')].map((r) => r.dataset.property);
  const pre = document.createElement('pre');
  pre.id = 'measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
`;

function runChromium(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const profile = join(tmpdir(), `chatsim-chromium-${process.pid}-${args.length}-${Math.abs(hash(args.join(' ')))}`);
    execFile(chromium!, ['--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', `--user-data-dir=${profile}`, ...args],
      { timeout: 60_000, maxBuffer: 20 * 1024 * 1024 }, (error, stdout, stderr) => {
        void rm(profile, { recursive: true, force: true });
        if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      });
  });
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return h;
}

/** Distinct byte values of the decompressed image data: a blank page has very few. */
function distinctPixelBytes(png: Buffer): number {
  const chunks: Buffer[] = [];
  for (let offset = 8; offset < png.length;) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    if (type === 'IDAT') chunks.push(png.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  return new Set(inflateSync(Buffer.concat(chunks))).size;
}
