import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { Metrics } from '../../simulator/metrics/Metrics.ts';
import { buildSummary, EXIT_CODES, lookupMetric } from '../../simulator/report/Summary.ts';
import { KNOWN_METRICS, evaluateThreshold, parseThreshold } from '../../simulator/scenario/thresholds.ts';
import { property, sampleInput, sampleSummary, thresholdResult } from './fixtures.ts';

describe('buildSummary exit codes', () => {
  it('passes when every property passes or is unknown and every threshold holds', () => {
    const s = sampleSummary();
    expect(s).toMatchObject({ schemaVersion: 1, verdict: 'pass', exitCode: EXIT_CODES.pass });
  });

  it('fails with 1 when a property fails, even if a threshold fails too', () => {
    const s = sampleSummary({
      properties: [property({ verdict: 'fail', violations: 2, examples: ['m1 acked but lost', 'm2 acked but lost'] })],
      thresholds: [thresholdResult('errorRate < 0.01', 0.5, false)],
    });
    expect(s).toMatchObject({ verdict: 'fail', exitCode: EXIT_CODES.property });
    expect(s.properties[0]).toMatchObject({ example: 'm1 acked but lost', examples: ['m1 acked but lost', 'm2 acked but lost'] });
  });

  it('fails with 2 when only a threshold fails', () => {
    const s = sampleSummary({ thresholds: [thresholdResult('sendToAck p(99) < 1ms', 95, false)] });
    expect(s).toMatchObject({ verdict: 'fail', exitCode: EXIT_CODES.threshold });
  });

  it('fails with 3 when the run could not complete, whatever else', () => {
    const s = sampleSummary({ runFailed: { code: 'TARGET_UNREACHABLE', message: 'connect ECONNREFUSED' }, properties: [property({ verdict: 'fail' })] });
    expect(s).toMatchObject({ verdict: 'fail', exitCode: EXIT_CODES.runFailed, runFailed: { code: 'TARGET_UNREACHABLE' } });
  });

  it('keeps the documented codes', () => {
    expect(EXIT_CODES).toEqual({ pass: 0, property: 1, threshold: 2, runFailed: 3, usage: 64 });
  });
});

describe('buildSummary metrics', () => {
  it('derives counts, rates, latencies, frames and errors from the snapshot', () => {
    const s = sampleSummary();
    const m = s.metrics;
    expect(m).toMatchObject({ phones: 12, messagesSent: 1000, messagesAcked: 1000, deliveries: 2000, reconnects: 4, errors: { UNAVAILABLE: 12 } });
    expect(m.throughputPerSec).toEqual({ sent: 50, delivered: 100 });
    expect(m.frames.out).toEqual({ send: 1000, ack: 1000, read: 100 });
    expect(m.frames.in).toEqual({ message: 2000 });
    expect(m.frames.acksPerDelivered).toBe(0.5);
    expect(m.frames.piggybackShare).toBeCloseTo(40 / 140, 3);
    expect(m.errorRate).toBeCloseTo(12 / 2100, 3);
    expect(m.latencyMs.sendToAck.count).toBe(1000);
    expect(m.latencyMs.sendToAck.max).toBe(96);
    expect(m.syncMessages).toMatchObject({ count: 4, p50: 30 });
    expect(s.faults).toEqual([{ kind: 'partition', startMs: 8000, endMs: 12_000 }]);
  });

  it('is plain JSON: a round trip changes nothing but dropped undefined fields', () => {
    const s = sampleSummary();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('summarises an empty run without dividing by zero', () => {
    const s = buildSummary({ ...sampleInput(), durationMs: 0, metrics: new Metrics(new ManualTime()).snapshot(), properties: [], thresholds: [] });
    expect(s.metrics.throughputPerSec).toEqual({ sent: 0, delivered: 0 });
    expect(s.metrics.errorRate).toBe(0);
    expect(s.metrics.latencyMs.sendToDelivered.count).toBe(0);
    // An empty histogram is null, never 0: a gate would read p99 = 0 as perfect.
    expect(s.metrics.latencyMs.sendToDelivered).toEqual({ p50: null, p90: null, p95: null, p99: null, 'p99.9': null, max: null, min: null, mean: null, count: 0 });
    expect(s.metrics.syncMessages.p99).toBeNull();
    expect(JSON.parse(JSON.stringify(s)).metrics.latencyMs.fanOut.p99).toBeNull();
  });
});

describe('lookupMetric', () => {
  const summary = sampleSummary();

  it('answers every known metric with its stats', () => {
    for (const [metric, info] of Object.entries(KNOWN_METRICS)) {
      const stats = info.kind === 'histogram' ? ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'min', 'mean'] : ['value'];
      for (const stat of stats) expect(lookupMetric(summary, metric, stat), `${metric} ${stat}`).toBeTypeOf('number');
    }
  });

  it('returns the values the summary shows', () => {
    expect(lookupMetric(summary, 'sendToAck', 'max')).toBe(96);
    expect(lookupMetric(summary, 'sendToAck', 'min')).toBe(5);
    expect(lookupMetric(summary, 'deliveredPerSec', 'value')).toBe(100);
    expect(lookupMetric(summary, 'sentPerSec', 'value')).toBe(50);
    expect(lookupMetric(summary, 'messagesSent', 'value')).toBe(1000);
    expect(lookupMetric(summary, 'messagesAcked', 'value')).toBe(1000);
    expect(lookupMetric(summary, 'reconnects', 'value')).toBe(4);
    expect(lookupMetric(summary, 'errorRate', 'value')).toBeCloseTo(12 / 2100, 3);
  });

  it('has nothing for metrics the run did not produce or unknown names', () => {
    const empty = buildSummary({ ...sampleInput(), durationMs: 0, metrics: new Metrics(new ManualTime()).snapshot() });
    expect(lookupMetric(empty, 'sendToDelivered', 'p99')).toBeUndefined();
    expect(lookupMetric(empty, 'deliveredPerSec', 'value')).toBeUndefined();
    expect(lookupMetric(empty, 'errorRate', 'value')).toBeUndefined();
    expect(lookupMetric(summary, 'nope', 'value')).toBeUndefined();
    expect(lookupMetric(summary, 'sendToAck', 'value')).toBeUndefined();
  });

  it('drives evaluateThreshold end to end', () => {
    const check = (text: string): boolean => {
      const parsed = parseThreshold(text);
      if (!parsed.ok) throw new Error(parsed.message);
      return evaluateThreshold(parsed.threshold, (metric, stat) => lookupMetric(summary, metric, stat)).ok;
    };
    expect(check('sendToAck p(99) < 1s')).toBe(true);
    expect(check('sendToDelivered p(50) < 1ms')).toBe(false);
    expect(check('deliveredPerSec > 50')).toBe(true);
    expect(check('errorRate < 0.001')).toBe(false);
  });
});
