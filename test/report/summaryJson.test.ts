import { describe, expect, it } from 'vitest';
import { sampleSummary, thresholdResult } from './fixtures.ts';

describe('summary.json', () => {
  it('keeps a missing threshold value as null, so gates can read the key', () => {
    const summary = sampleSummary({ thresholds: [thresholdResult('fanOut p(99) < 1s', undefined, false)] });
    const parsed = JSON.parse(JSON.stringify(summary));
    expect(parsed.thresholds[0]).toEqual({ expression: 'fanOut p(99) < 1s', actual: null, op: '<', limit: 1000, unit: 'ms', ok: false });
    expect(parsed.exitCode).toBe(2);
  });
});
