import { describe, expect, it } from 'vitest';
import { compareRuns, DEFAULT_TOLERANCE, formatComparison } from '../../simulator/report/compareRuns.ts';
import type { Summary } from '../../simulator/report/Summary.ts';
import { property, sampleSummary } from './fixtures.ts';

function withLatency(summary: Summary, metric: 'sendToAck' | 'fanOut', stats: { p50: number; p95: number; p99: number }, count = 1000): Summary {
  const copy = structuredClone(summary);
  copy.metrics.latencyMs[metric] = { ...copy.metrics.latencyMs[metric], ...stats, count };
  return copy;
}

describe('compareRuns', () => {
  const base = withLatency(sampleSummary(), 'sendToAck', { p50: 100, p95: 400, p99: 900 });

  it('finds no regression between a run and itself', () => {
    expect(compareRuns(base, structuredClone(base)).regressions).toEqual([]);
  });

  it('names a latency that grew past its tolerance and its floor', () => {
    const slower = withLatency(base, 'sendToAck', { p50: 200, p95: 700, p99: 900 });
    const c = compareRuns(base, slower);
    expect(c.regressions.map((r) => r.metric)).toEqual(['sendToAck p50', 'sendToAck p95']);
    expect(c.regressions[0]).toMatchObject({ baseline: 100, run: 200, change: 1, verdict: 'regression' });
    expect(formatComparison(c)).toMatch(/^2 regression\(s\)/);
  });

  it('lets noise pass: within the relative tolerance, or under the absolute floor', () => {
    const noisy = withLatency(base, 'sendToAck', { p50: 125, p95: 590, p99: 1300 });
    expect(compareRuns(base, noisy).regressions).toEqual([]);
    const tinyBase = withLatency(base, 'sendToAck', { p50: 4, p95: 9, p99: 12 });
    expect(compareRuns(tinyBase, withLatency(base, 'sendToAck', { p50: 12, p95: 40, p99: 60 })).regressions).toEqual([]);
  });

  it('does not judge a stat over too few samples', () => {
    const few = withLatency(base, 'sendToAck', { p50: 100, p95: 400, p99: 900 }, DEFAULT_TOLERANCE.minSamples - 1);
    const c = compareRuns(few, withLatency(base, 'sendToAck', { p50: 900, p95: 4000, p99: 9000 }, DEFAULT_TOLERANCE.minSamples - 1));
    expect(c.regressions).toEqual([]);
    expect(c.changes.find((x) => x.metric === 'sendToAck p50')!.verdict).toBe('too few samples');
  });

  it('counts a property that newly fails and a throughput that fell', () => {
    const run = structuredClone(base);
    run.properties = [{ ...property({ id: 'A5', verdict: 'fail', violations: 1, examples: ['x'] }), example: 'x' }];
    run.metrics.throughputPerSec.delivered = base.metrics.throughputPerSec.delivered * 0.5;
    expect(compareRuns(base, run).regressions.map((r) => r.metric).sort()).toEqual(['deliveredPerSec', 'property A5']);
  });

  it('compares tag slices and notes different scenarios', () => {
    const b = structuredClone(base);
    const r = structuredClone(base);
    const stats = (p95: number) => ({ count: 500, p50: 10, p90: p95, p95, p99: p95, 'p99.9': p95, min: 1, max: p95, mean: 10 });
    b.breakdowns = { sendToAck: { 'profile:good-4g': stats(100) }, sendToDelivered: {}, sendToRead: {}, fanOut: {} };
    r.breakdowns = { sendToAck: { 'profile:good-4g': stats(400) }, sendToDelivered: {}, sendToRead: {}, fanOut: {} };
    r.scenario = { name: 'other', path: 'x' };
    const c = compareRuns(b, r);
    expect(c.regressions.map((x) => x.metric)).toEqual(['sendToAck{profile:good-4g} p95', 'sendToAck{profile:good-4g} p99']);
    expect(c.notes).toEqual(['different scenarios: flaky-mobile and other']);
  });
});
