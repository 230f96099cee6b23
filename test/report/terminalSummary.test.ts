import { describe, expect, it } from 'vitest';
import { formatSummary, progressLine } from '../../simulator/report/terminalSummary.ts';
import { property, sampleSummary } from './fixtures.ts';

describe('formatSummary', () => {
  it('shows verdict, properties, thresholds, metrics, latency and the reproduce line', () => {
    const text = formatSummary(sampleSummary(), { color: false });
    expect(text).toMatch(/^PASS {2}exit 0: all properties and thresholds passed/);
    expect(text).toContain('A5');
    expect(text).toContain('? unknown');
    expect(text).toMatch(/✓ +sendToAck p\(99\) < 500ms +95/);
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
    expect(line).toBe('[3s]  load  phones 9/10  sent 50 (20/s)  acked 0  delivered 120 (50/s)  errors 2');
  });
});
