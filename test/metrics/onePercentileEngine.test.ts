// One percentile engine: A11's fan-out p99 and the metrics table's fanOut p99 of one run agree
// exactly (the same samples, FanOutTracker; the same engine, HdrStats). Issue 18 found 84 ms in
// A11 and 158 ms in the table for one run, from a sort, log buckets and a second definition.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { performRun } from '../../simulator/engine/performRun.ts';
import { HdrHistogram, HdrStats } from '../../simulator/metrics/hdrStats.ts';
import { loadScenario } from '../../simulator/scenario/loadScenario.ts';

const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;

describe('one percentile engine', () => {
  it('gives A11 and the metrics table the same fan-out p50, p99 and max for one run', async () => {
    const loaded = await loadScenario(tiny, { engine: 'sim' });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const outDir = mkdtempSync(join(tmpdir(), 'chatsim-hdr-'));
    const { summary } = await performRun({ file: tiny, scenario: loaded.scenario, outDir, reproduce: '', checks: 'all', time: createSystemTime() });
    const a11 = summary.properties.find((p) => p.id === 'A11')!;
    const match = /over (\d+) message\(s\): p50 (\d+), p99 (\d+), max (\d+)/.exec(a11.reason ?? '');
    expect(match, a11.reason).not.toBeNull();
    const [, count, p50, p99, max] = match!.map(Number);
    const table = summary.metrics.latencyMs.fanOut;
    expect(count).toBeGreaterThan(10);
    expect({ count, p50, p99, max }).toEqual({ count: table.count, p50: table.p50, p99: table.p99, max: table.max });
    // The time series file (tagged samples) agrees too: its fanOut counts add up to the same messages.
    const series = readFileSync(join(outDir, 'timeseries.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { metrics: Record<string, Record<string, { count: number }>> });
    expect(series.reduce((n, s) => n + (s.metrics.fanOut?.all?.count ?? 0), 0)).toBe(count);
  });

  it('answers a percentile within HDR precision (3 significant digits) and null without samples', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 100_000);
    const sorted = [...values].sort((a, b) => a - b);
    const stats = HdrStats.of(values);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
      expect(Math.abs(stats.percentile(p)! - exact)).toBeLessThanOrEqual(Math.max(1, exact * 0.001));
    }
    expect(new HdrStats().percentile(99)).toBeNull();
    // The histogram that ships between threads, split and merged, answers as HdrStats does.
    const merged = new HdrHistogram();
    merged.addEncoded(HdrHistogram.of(values.slice(0, 5000)).encode());
    merged.addEncoded(HdrHistogram.of(values.slice(5000)).encode());
    expect(merged.stats()).toEqual(stats.stats());
    expect(new HdrHistogram().percentile(99)).toBeNull();
  });
});
