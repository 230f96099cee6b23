import { describe, expect, it } from 'vitest';
import { formatSummary, progressLine } from '../../simulator/report/terminalSummary.ts';
import { property, sampleSummary } from './fixtures.ts';

describe('formatSummary', () => {
  it('shows verdict, properties, thresholds, metrics, latency and the reproduce line', () => {
    const text = formatSummary(sampleSummary(), { color: false });
    expect(text).toMatch(/^PASS {2}exit 0: all properties and thresholds passed/);
    expect(text).toContain('A5');
    expect(text).toContain('? unknown');
    expect(text).toMatch(/✓ +sendToAck p\(99\) +95ms +< 500ms/);
    expect(text).toMatch(/messages +1000 sent, 1000 acked, 2000 delivered/);
    expect(text).toMatch(/throughput +50 sent\/s, 100 delivered\/s/);
    expect(text).toMatch(/sendToAck +1000 +\d+ms +\d+ms +\d+ms +96ms/);
    expect(text).toMatch(/errors +UNAVAILABLE 12/);
    expect(text).toContain('reproduce: chatsim run scenarios/flaky-mobile.yaml --seed 42');
    expect(text).not.toContain('\u001b[');
  });

  it('explains failures and warns about the generator; colours only when asked', () => {
    const summary = sampleSummary({
      properties: [property({ verdict: 'fail', violations: 1, examples: ['m7 lost'] })],
      generator: { cpuPercent: 99, eventLoopLagMsP99: 250, warning: 'the load generator was saturated' },
    });
    const plain = formatSummary(summary, { color: false });
    expect(plain).toMatch(/^FAIL {2}exit 1: a correctness property failed/);
    expect(plain).toContain('✗ fail');
    expect(plain).toContain('m7 lost');
    expect(plain).toContain('WARNING: the load generator was saturated');
    expect(formatSummary(summary, { color: true })).toContain('\u001b[1m');
  });

  it('shows why a run could not complete', () => {
    const text = formatSummary(sampleSummary({ runFailed: { code: 'TARGET_UNREACHABLE', message: 'ECONNREFUSED' } }), { color: false });
    expect(text).toMatch(/exit 3: the run could not complete/);
    expect(text).toContain('run failed: TARGET_UNREACHABLE: ECONNREFUSED');
  });
});

describe('progressLine', () => {
  it('shows elapsed, phase, phones, counts and rates since the previous line', () => {
    const base = { phase: 'load' as const, phones: 10, connected: 9, acked: 0, errors: 2 };
    progressLine({ ...base, elapsedMs: 1000, sent: 10, delivered: 20 });
    const line = progressLine({ ...base, elapsedMs: 3000, sent: 50, delivered: 120 });
    expect(line).toBe('[3s]  load  phones 9/10  sent 50 (20/s)  acked 0  delivered 120 (50/s)  p99 delivery -  ack -  errors 2');
  });

  it('fits a terminal: never wider than columns - 1, keeping elapsed, phase, phones and the delivery p99 first', () => {
    const p = { phase: 'heal' as const, phones: 20_000, connected: 19_876, acked: 1_234_567, errors: 12_345, elapsedMs: 754_000, sent: 1_234_999, delivered: 9_876_543, deliveryP99Ms: 1840, ackP99Ms: 95 };
    expect(progressLine(p)).toContain('p99 delivery 1.84s  ack 95ms');
    for (const columns of [200, 120, 100, 80, 60, 40, 20, 8, 2]) {
      const line = progressLine(p, { columns });
      expect(line.length, `${columns}: ${line}`).toBeLessThanOrEqual(columns - 1);
      if (columns >= 60) expect(line).toMatch(/^\[12m34s\] {2}heal {2}phones 19876\/20000 {2}.*p99 delivery 1\.84s/);
    }
    // A run of 2,000 phones a minute in, rates since the line a second before.
    const q = { phase: 'load' as const, phones: 2000, connected: 1980, acked: 12_300, errors: 0, elapsedMs: 61_000, sent: 12_000, delivered: 45_000, deliveryP99Ms: 180, ackP99Ms: 52 };
    progressLine(q);
    const next = { ...q, elapsedMs: 62_000, sent: 12_410, delivered: 46_200, acked: 12_700 };
    expect(progressLine(next, { columns: 80 })).toBe('[1m02s]  load  phones 1980/2000  delivered 1200/s  p99 delivery 180ms  errors 0');
    progressLine(q);
    expect(progressLine(next, { columns: 120 })).toBe('[1m02s]  load  phones 1980/2000  sent 410/s  acked 12.7k  delivered 1200/s  p99 delivery 180ms  ack 52ms  errors 0');
  });
});
