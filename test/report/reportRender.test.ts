import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '../../simulator/report/writeReports.ts';
import { CHART_IDS, chartsIn, drawnPolylines, drawnRects } from './reportChecks.ts';
import { sampleMetrics, sampleSummary } from './fixtures.ts';

/**
 * Renders report.html in headless Chromium, the way a person opening the CI artifact sees it.
 * Chromium missing: a failure on CI (which installs it), a skip with a reason elsewhere.
 */
/** CHROMIUM_PATH, when set, is the only place looked at. */
const CANDIDATES = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const chromium = CANDIDATES.find((p) => existsSync(p));
const WIDTH = 1280;
const HEIGHT = 2000;

if (!chromium && !process.env.CI) {
  console.warn(`reportRender: skipped, no Chromium at ${CANDIDATES.join(', ')} (install it with "apt-get install -y chromium" or set CHROMIUM_PATH)`);
}

describe.skipIf(!chromium && !process.env.CI)('report.html in headless Chromium', () => {
  let dir = '';
  let reportPath = '';

  beforeAll(async () => {
    expect(chromium, `no Chromium found at ${CANDIDATES.join(', ')}; CI must install it (apt-get install -y chromium)`).toBeDefined();
    dir = await mkdtemp(join(tmpdir(), 'chatsim-render-'));
    const summary = sampleSummary();
    const { files } = await writeReports(dir, { summary, metrics: sampleMetrics().snapshot(), faults: summary.faults });
    reportPath = files.find((f) => f.endsWith('report.html'))!;
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renders every chart with its drawn elements in the DOM', async () => {
    const dom = await runChromium(['--dump-dom', pathToFileURL(reportPath).href]);
    const charts = chartsIn(dom);
    for (const id of CHART_IDS) expect(charts.has(id), `chart ${id} in the rendered DOM`).toBe(true);
    for (const id of ['throughput', 'latency']) {
      expect(drawnPolylines(charts.get(id)!), `${id} lines`).toHaveLength(2);
      expect(drawnRects(charts.get(id)!, 'fault'), `${id} fault window`).toHaveLength(1);
    }
    for (const id of ['histogram-sendToDelivered', 'histogram-sendToAck', 'histogram-sendToRead', 'ticks']) {
      expect(drawnRects(charts.get(id)!, 'bar').length, `${id} bars`).toBeGreaterThan(3);
    }
  });

  it('lays the charts out with real, visible sizes', async () => {
    // A copy of the report with a measuring script appended: the report itself has no script.
    const html = await readFile(reportPath, 'utf8');
    const probe = html.replace('</body>', `<script>${MEASURE_SCRIPT}</script></body>`);
    const probePath = join(dir, 'probe.html');
    await writeFile(probePath, probe);
    const dom = await runChromium(['--dump-dom', pathToFileURL(probePath).href]);
    const json = /<pre id="measure">([\s\S]*?)<\/pre>/.exec(dom)?.[1];
    expect(json, 'the measuring script ran').toBeDefined();
    const sizes = JSON.parse(json!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Record<string, { width: number; height: number; drawn: number; faults: number }>;
    for (const id of CHART_IDS) {
      expect(sizes[id], `chart ${id} rendered`).toBeDefined();
      expect(sizes[id]!.width, `${id} width`).toBeGreaterThan(300);
      expect(sizes[id]!.height, `${id} height`).toBeGreaterThan(100);
      expect(sizes[id]!.drawn, `${id} drawn shapes with a non-empty box`).toBeGreaterThan(1);
    }
    expect(sizes.throughput!.faults).toBe(1);
    expect(sizes.latency!.faults).toBe(1);
  });

  it('takes a non-trivial screenshot', async () => {
    const png = join(dir, 'report.png');
    await runChromium([`--screenshot=${png}`, `--window-size=${WIDTH},${HEIGHT}`, '--hide-scrollbars', pathToFileURL(reportPath).href]);
    expect((await stat(png)).size).toBeGreaterThan(30_000);
    const image = await readFile(png);
    expect(image.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(image.toString('ascii', 12, 16)).toBe('IHDR');
    expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([WIDTH, HEIGHT]);
    expect(distinctPixelBytes(image)).toBeGreaterThan(50);
  });
});

/** For each chart: its box, how many shapes have a non-empty box, how many fault bands. */
const MEASURE_SCRIPT = `
const out = {};
for (const svg of document.querySelectorAll('svg[data-chart]')) {
  const box = svg.getBoundingClientRect();
  const shapes = svg.querySelectorAll('polyline.series, rect.bar, circle.series');
  const drawn = [...shapes].filter((s) => { const b = s.getBBox(); return b.width > 0 && b.height > 0 || (s.tagName === 'polyline' && (b.width > 0 || b.height > 0)); }).length;
  const faults = [...svg.querySelectorAll('rect.fault')].filter((r) => r.getBBox().width > 0).length;
  out[svg.dataset.chart] = { width: box.width, height: box.height, drawn, faults };
}
const pre = document.createElement('pre');
pre.id = 'measure';
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
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
