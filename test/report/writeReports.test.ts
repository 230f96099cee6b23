import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { Metrics } from '../../simulator/metrics/Metrics.ts';
import { reportHtml } from '../../simulator/report/reportHtml.ts';
import { writeReports } from '../../simulator/report/writeReports.ts';
import { findAll, parseXml } from './xmlCheck.ts';
import { CHART_IDS, chartData, chartsIn, drawnRects, texts, TIME_SERIES_IDS } from './reportChecks.ts';
import { property, sampleMetrics, sampleSummary, thresholdResult } from './fixtures.ts';

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
    expect(files.map((f) => f.split('/').at(-1))).toEqual(['summary.json', 'timeseries.jsonl', 'junit.xml', 'report.html']);
    expect(files.every((f) => isAbsolute(f))).toBe(true);
    expect(JSON.parse(await readFile(files[0]!, 'utf8'))).toEqual(JSON.parse(JSON.stringify(summary)));
    const series = (await readFile(files[1]!, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { tMs: number; sent: number });
    expect(series.map((p) => p.tMs)).toEqual(Array.from({ length: 20 }, (_, s) => s * 1000));
    expect(series.reduce((n, p) => n + p.sent, 0)).toBe(summary.metrics.messagesSent);
    expect(findAll(parseXml(await readFile(files[2]!, 'utf8')), 'testcase')).toHaveLength(3);
    expect(await readFile(files[3]!, 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });
});

describe('report.html', () => {
  it('is self-contained: scripts and styles inline, no external links, sources or fonts', () => {
    const html = sampleReport();
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toContain('uPlot');
  });

  it('leads with the verdict and key numbers, then the charts, then the properties', () => {
    const html = sampleReport({ thresholds: [thresholdResult('errorRate < 0.001', 0.006, false)] });
    expect(html).toContain('<h1>flaky-mobile</h1>');
    expect(html).toContain('<code>chatsim run scenarios/flaky-mobile.yaml --seed 42</code>');
    expect(html).toMatch(/id="verdict" class="verdict fail">FAIL/);
    expect(html).toContain('no lost acknowledged message');
    expect(html).toMatch(/✗<\/td><td><code>errorRate &lt; 0.001<\/code><\/td><td class="num">0.006/);
    const at = (needle: string): number => html.indexOf(needle);
    expect(at('id="verdict"')).toBeLessThan(at('id="key-numbers"'));
    expect(at('id="key-numbers"')).toBeLessThan(at('id="charts"'));
    expect(at('id="charts"')).toBeLessThan(at('id="properties"'));
  });

  it('shows a missing latency as a dash, never as 0', () => {
    const summary = sampleSummary({ metrics: new Metrics(new ManualTime()).snapshot() });
    const html = reportHtml({ summary, metrics: new Metrics(new ManualTime()).snapshot(), faults: [] });
    expect(html).toMatch(/<b>—<\/b><span>sendToAck p95<\/span>/);
  });

  it('folds passing properties away and opens the failures, causes first', () => {
    const html = sampleReport({
      properties: [
        property({ id: 'A5', verdict: 'fail', violations: 2, examples: ['lost seq 1'] }),
        property({ id: 'C1', name: 'watermark sync is exact', verdict: 'fail', violations: 1, examples: ['from watermark 10 started at seq 12'] }),
        property({ id: 'A1', name: 'one order per chat' }),
      ],
    });
    const failed = /<table id="failed-properties">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
    expect([...failed.matchAll(/data-property="(\w+)"/g)].map((m) => m[1])).toEqual(['C1', 'A5']);
    expect(/<details id="all-properties"><summary>All 3 properties \(1 pass, 2 fail, 0 unknown\)/.test(html)).toBe(true);
    expect(html).toMatch(/id="root-cause-lead" data-property="C1"/);
  });

  it('embeds every time series with the fault windows, labelled, and the phases', () => {
    const summary = sampleSummary({ phases: [{ name: 'load', startMs: 0, endMs: 20_000 }, { name: 'heal', startMs: 20_000, endMs: 25_000 }] });
    const data = chartData(reportHtml({ summary, metrics: sampleMetrics().snapshot(), faults: [{ kind: 'restart-chat-servers', label: 'chat servers restarted (graceful)', startMs: 8000, endMs: 12_000 }], connections: { connected: [1, 2, 3], reconnects: [0, 0, 1] } }));
    expect(data.charts.map((c) => c.id)).toEqual([...TIME_SERIES_IDS]);
    const sent = data.charts[0]!.series.find((s) => s.label === 'sent')!.values;
    expect(sent.slice(0, 20)).toEqual(Array.from({ length: 20 }, () => 50));
    expect(data.faults).toEqual([{ label: 'chat servers restarted (graceful)', cls: 'graceful', fromS: 8, toS: 12 }]);
    expect(data.phases.map((p) => p.name)).toEqual(['load', 'heal']);
    expect(data.seconds.at(-1)).toBeGreaterThanOrEqual(25);
  });

  it('draws the distributions as SVG with axes, labels and real content', () => {
    const charts = chartsIn(sampleReport());
    expect([...charts.keys()].sort()).toEqual([...CHART_IDS].sort());
    for (const [id, svg] of charts) {
      expect(findAll(svg, 'line').some((l) => l.attributes.class === 'axis'), `${id} axis`).toBe(true);
      expect(texts(svg).filter((t) => t.trim() !== '').length, `${id} labels`).toBeGreaterThan(5);
      expect(texts(svg), `${id} has data`).not.toContain('no data');
    }
    for (const id of ['histogram-sendToDelivered', 'histogram-sendToAck', 'histogram-sendToRead']) expect(drawnRects(charts.get(id)!, 'bar').length, id).toBeGreaterThan(3);
    expect(drawnRects(charts.get('ticks')!, 'bar')).toHaveLength(9);
  });

  it('still draws axes and says "no data" for an empty run', () => {
    const summary = sampleSummary({ metrics: new Metrics(new ManualTime()).snapshot(), faults: [] });
    const charts = chartsIn(reportHtml({ summary, metrics: new Metrics(new ManualTime()).snapshot(), faults: [] }));
    expect(charts.size).toBe(CHART_IDS.length);
    for (const svg of charts.values()) expect(texts(svg)).toContain('no data');
  });

  it('escapes every piece of text, in the page and in the chart data', () => {
    const evil = '<script>alert("x")</script><!--&';
    const summary = sampleSummary({
      scenario: { name: evil, path: evil }, reproduce: evil,
      properties: [property({ name: evil, verdict: 'fail', violations: 1, examples: [evil] })],
      thresholds: [thresholdResult(evil, 1, false)],
      generator: { cpuPercent: 1, eventLoopLagMsP99: 1, warning: evil },
    });
    const html = reportHtml({ summary, metrics: sampleMetrics().snapshot(), faults: [{ kind: evil, label: evil, startMs: 1000, endMs: 2000 }], runDir: evil });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toMatch(/<!--&/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(chartData(html).faults[0]!.label).toBe(evil);
  });

  it('shows the generator warning', () => {
    expect(sampleReport({ generator: { cpuPercent: 99, eventLoopLagMsP99: 300, warning: 'generator saturated' } })).toContain('<p class="warning">generator saturated</p>');
  });
});
