import { describe, expect, it } from 'vitest';
import { evaluateThreshold, parseThreshold } from '../../simulator/scenario/thresholds.ts';

function parsed(text: string) {
  const result = parseThreshold(text);
  if (!result.ok) throw new Error(result.message);
  return result.threshold;
}

describe('thresholds', () => {
  it('parses k6-style expressions with stats, operators and units', () => {
    expect(parsed('sendToDelivered p(99) < 500ms')).toMatchObject({ metric: 'sendToDelivered', stat: 'p99', op: '<', limit: 500 });
    expect(parsed('sendToAck p(95) <= 2s')).toMatchObject({ stat: 'p95', op: '<=', limit: 2000 });
    expect(parsed('reconnect max < 1.5m')).toMatchObject({ stat: 'max', limit: 90_000 });
    expect(parsed('fanOut p( 99.9 ) < 3s')).toMatchObject({ stat: 'p99.9', limit: 3000 });
    expect(parsed('sendToRead avg < 100')).toMatchObject({ stat: 'mean', limit: 100 });
    expect(parsed('deliveredPerSec > 1000')).toMatchObject({ metric: 'deliveredPerSec', stat: 'value', op: '>', limit: 1000 });
    expect(parsed('errorRate < 0.01')).toMatchObject({ limit: 0.01 });
  });

  it('rejects bad expressions with a reason', () => {
    const reason = (text: string): string => {
      const r = parseThreshold(text);
      return r.ok ? 'accepted' : r.message;
    };
    expect(reason('latency p(99) < 1s')).toContain('unknown metric');
    expect(reason('sendToAck < 1s')).toContain('histogram');
    expect(reason('deliveredPerSec p(99) > 5')).toContain('single value');
    expect(reason('sendToAck p(42) < 1s')).toContain('percentile');
    expect(reason('sendToAck p(99) < 1 fortnight')).toContain('limit');
    expect(reason('deliveredPerSec > 5s')).toContain('not a duration');
    expect(reason('sendToAck p(99) != 1s')).toContain('not supported');
    expect(reason('sendToAck p(99)')).toContain('operator');
    expect(reason('')).toContain('empty');
  });

  it('evaluates against a lookup, and a metric the run did not produce fails', () => {
    const t = parsed('sendToAck p(99) < 500ms');
    expect(evaluateThreshold(t, () => 499)).toEqual({ ok: true, actual: 499 });
    expect(evaluateThreshold(t, () => 500)).toEqual({ ok: false, actual: 500 });
    expect(evaluateThreshold(t, () => undefined)).toEqual({ ok: false, actual: undefined });
    expect(evaluateThreshold(parsed('deliveredPerSec >= 10'), (m, s) => (m === 'deliveredPerSec' && s === 'value' ? 10 : undefined)).ok).toBe(true);
  });
});

describe('threshold tag filters', () => {
  it('parses k6-style tag filters on tagged metrics', () => {
    const parsed = parseThreshold('sendToAck{connected:true, profile:good-4g} p(95) < 2s');
    expect(parsed).toEqual({ ok: true, threshold: expect.objectContaining({ metric: 'sendToAck', tags: { connected: 'true', profile: 'good-4g' }, stat: 'p95', limit: 2000 }) });
    expect(parseThreshold('sendToAck p(95) < 2s')).toEqual({ ok: true, threshold: expect.objectContaining({ tags: {} }) });
  });

  it('refuses a filter on an untagged metric, an unknown tag and a malformed pair', () => {
    expect(parseThreshold('errorRate{profile:x} < 0.1')).toEqual({ ok: false, message: expect.stringContaining('errorRate takes no tag filter') });
    expect(parseThreshold('fanOut{profile:x} p(99) < 1s')).toEqual({ ok: false, message: expect.stringContaining('unknown tag "profile" for fanOut') });
    expect(parseThreshold('sendToAck{connected} p(99) < 1s')).toEqual({ ok: false, message: expect.stringContaining('name:value pairs') });
  });
});
