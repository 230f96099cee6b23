import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { RateLimiter } from '../../server/http/RateLimiter.ts';

describe('RateLimiter', () => {
  it('allows a burst, then one per 60,000 / perMinuteMax ms on the injected clock, saying how long to wait', () => {
    const time = new ManualTime(0);
    const limiter = new RateLimiter(time, { burstMax: 3, perMinuteMax: 6 }, 100);
    for (let i = 0; i < 3; i++) expect(limiter.take('a')).toEqual({ ok: true });
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterMs: 10_000 });
    expect(limiter.take('b')).toEqual({ ok: true }); // keys are independent
    time.advance(9_999);
    expect(limiter.take('a').ok).toBe(false);
    time.advance(1);
    expect(limiter.take('a')).toEqual({ ok: true });
  });

  it('keeps at most keysMax keys: a flood of new keys forgets the least recently used, not the busy one', () => {
    const time = new ManualTime(0);
    const limiter = new RateLimiter(time, { burstMax: 1, perMinuteMax: 1 }, 2);
    expect(limiter.take('busy').ok).toBe(true);
    for (let i = 0; i < 1000; i++) {
      limiter.take(`flood-${i}`);
      expect(limiter.check('busy').ok).toBe(false); // touched each round, so never evicted
    }
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(2);
  });

  it('keys named like Object.prototype members are ordinary keys', () => {
    const limiter = new RateLimiter(new ManualTime(0), { burstMax: 1, perMinuteMax: 1 }, 10);
    for (const key of ['__proto__', 'constructor', 'toString']) {
      expect(limiter.take(key).ok).toBe(true);
      expect(limiter.take(key).ok).toBe(false);
    }
  });
});
