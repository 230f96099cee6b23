// HdrStats answers from its samples exactly what a packed HDR histogram of them answers (issue
// 14: the packed histogram's percentile walk was 85 % of a swarm seed's CPU).
import { build } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { HDR_HIGHEST_TRACKABLE, HdrStats } from '../../simulator/metrics/hdrStats.ts';

/** The former implementation: a packed hdr-histogram-js histogram, clamped to the exact min and max. */
function oracle(values: number[]) {
  const h = build({ useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: HDR_HIGHEST_TRACKABLE, numberOfSignificantValueDigits: 3, autoResize: true, bitBucketSize: 'packed' });
  const recorded = values.map((value) => (!Number.isFinite(value) ? (value > 0 ? HDR_HIGHEST_TRACKABLE : 0) : Math.min(HDR_HIGHEST_TRACKABLE, Math.max(0, Math.round(value)))));
  for (const v of recorded) h.recordValue(v);
  const min = Math.min(...recorded);
  const max = Math.max(...recorded);
  return {
    percentile: (p: number) => Math.min(max, Math.max(min, h.getValueAtPercentile(p))),
    mean: Math.round(h.mean * 1000) / 1000,
  };
}

describe('HdrStats', () => {
  it('gives the packed HDR histogram\'s percentiles and mean on random samples', () => {
    const random = new SeededRandom(14);
    const percentiles = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];
    for (let round = 0; round < 40; round++) {
      const n = 1 + random.nextInt(round % 10 === 0 ? 2_000 : 60);
      const scale = [10, 1_000, 100_000, 5_000_000][random.nextInt(4)]!;
      const values = Array.from({ length: n }, () => (random.nextFloat() < 0.02 ? -5 : random.nextFloat() ** 3 * scale));
      if (round % 7 === 0) values.push(Infinity);
      const stats = HdrStats.of(values);
      const expected = oracle(values);
      for (const p of percentiles) expect(stats.percentile(p), `round ${round}, n ${n}, p${p}`).toBe(expected.percentile(p));
      expect(stats.stats().mean, `round ${round} mean`).toBe(expected.mean);
      expect(stats.count).toBe(n + (round % 7 === 0 ? 1 : 0));
    }
  }, 120_000);

  it('answers null without samples', () => {
    expect(new HdrStats().percentile(50)).toBeNull();
    expect(new HdrStats().stats()).toMatchObject({ count: 0, p50: null, mean: null });
  });
});
