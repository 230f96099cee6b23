import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { Metrics } from '../../simulator/metrics/Metrics.ts';
import { reportHtml } from '../../simulator/report/reportHtml.ts';
import { writeReports } from '../../simulator/report/writeReports.ts';
import { findAll, parseXml } from './xmlCheck.ts';
import { CHART_IDS, chartsIn, drawnPolylines, drawnRects, texts } from './reportChecks.ts';
import { property, sampleMetrics, sampleSummary } from './fixtures.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function sampleReport(overrides: Parameters<typeof sampleSummary>[0] = {}): string {
  const summary = sampleSummary(overrides);
  return reportHtml({ summary, metrics: sampleMetrics().snapshot(), faults: summary.faults });
}

describe('writeReports', () => {
  it('creates the directory and writes summary.json, junit.xml and report.html', async () => {
    const base = await mkdtemp(join(tmpdir(), 'chatsim-report-'));
    dirs.push(base);
    const summary = sampleSummary();
    const { files } = await writeReports(join(base, 'a', 'b'), { summary, metrics: sampleMetrics().snapshot(), faults: summary.faults });
    expect(files.map((f) => f.split('/').at(-1))).toEqual(['summary.json', 'junit.xml', 'report.html']);
    expect(files.every((f) => isAbsolute(f))).toBe(true);
    expect(JSON.parse(await readFile(files[0]!, 'utf8'))).toEqual(JSON.parse(JSON.stringify(summary)));
    expect(findAll(parseXml(await readFile(files[1]!, 'utf8')), 'testcase')).toHaveLength(3);
    expect(await readFile(files[2]!, 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });
});

describe('report.html', () => {
  it('is self-contained: no scripts, external links, stylesheets or fonts', () => {
    const html = sampleReport();
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  });

  it('has the header, properties and thresholds', () => {
    const html = sampleReport({ thresholds: [{ expression: 'errorRate < 0.001', actual: 0.006, ok: false }] });
    expect(html).toContain('<h1>chatsim: flaky-mobile</h1>');
    expect(html).toContain('<code>chatsim run scenarios/flaky-mobile.yaml --seed 42</code>');
    expect(html).toMatch(/class="verdict fail">FAIL/);
    expect(html).toContain('no lost acknowledged message');
    expect(html).toMatch(/✗<\/td><td><code>errorRate &lt; 0.001<\/code><\/td><td class="num">0.006/);
  });

  it('draws every chart with axes, labels and real content', () => {
    const charts = chartsIn(sampleReport());
    expect([...charts.keys()].sort()).toEqual([...CHART_IDS].sort());
    for (const [id, svg] of charts) {
      expect(findAll(svg, 'line').some((l) => l.attributes.class === 'axis'), `${id} axis`).toBe(true);
      expect(texts(svg).filter((t) => t.trim() !== '').length, `${id} labels`).toBeGreaterThan(5);
      expect(texts(svg), `${id} has data`).not.toContain('no data');
    }
    for (const id of ['throughput', 'latency']) {
      expect(drawnPolylines(charts.get(id)!), id).toHaveLength(2);
      expect(drawnRects(charts.get(id)!, 'fault'), `${id} fault window`).toHaveLength(1);
    }
    for (const id of ['histogram-sendToDelivered', 'histogram-sendToAck', 'histogram-sendToRead']) expect(drawnRects(charts.get(id)!, 'bar').length, id).toBeGreaterThan(3);
    expect(drawnRects(charts.get('ticks')!, 'bar')).toHaveLength(9);
  });

  it('places the fault window where the fault was', () => {
    const svg = chartsIn(sampleReport()).get('throughput')!;
    const fault = drawnRects(svg, 'fault')[0]!;
    const xs = drawnPolylines(svg)[0]!.attributes.points!.split(' ').map((p) => Number(p.split(',')[0]));
    const span = xs.at(-1)! - xs[0]!; // the series runs from t = 0 to 19 s
    expect((Number(fault.attributes.x) - xs[0]!) / span).toBeCloseTo(8 / 19, 2);
    expect(Number(fault.attributes.width) / span).toBeCloseTo(4 / 19, 2);
  });

  it('still draws axes and says "no data" for an empty run', () => {
    const summary = sampleSummary({ metrics: new Metrics(new ManualTime()).snapshot(), faults: [] });
    const charts = chartsIn(reportHtml({ summary, metrics: new Metrics(new ManualTime()).snapshot(), faults: [] }));
    expect(charts.size).toBe(CHART_IDS.length);
    for (const svg of charts.values()) expect(texts(svg)).toContain('no data');
  });

  it('escapes every piece of text', () => {
    const evil = '<script>alert("x")</script>&';
    const html = sampleReport({
      scenario: { name: evil, path: evil }, reproduce: evil, faults: [{ kind: evil, startMs: 1000, endMs: 2000 }],
      properties: [property({ name: evil, verdict: 'fail', violations: 1, examples: [evil] })],
      thresholds: [{ expression: evil, actual: 1, ok: false }],
      generator: { cpuPercent: 1, eventLoopLagMsP99: 1, warning: evil },
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;');
  });

  it('shows the generator warning', () => {
    expect(sampleReport({ generator: { cpuPercent: 99, eventLoopLagMsP99: 300, warning: 'generator saturated' } })).toContain('<p class="warning">generator saturated</p>');
  });
});
