import type { Clock } from '../ports/Clock.ts';

export interface RateLimit {
  /** Requests allowed at once (the bucket's size). */
  burstMax: number;
  /** Sustained requests per minute (the bucket's refill rate). */
  perMinuteMax: number;
}

interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Token buckets keyed by a string (a client address, a user name), on the injected clock.
 * At most `keysMax` keys are kept: past it the least recently used bucket is forgotten (it
 * was the least recently limited, and a forgotten bucket starts full), so a flood of distinct
 * keys costs bounded memory. Keys come from clients, hence a Map, never a plain object.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly clock: Clock, private readonly limit: RateLimit, private readonly keysMax: number) {
    if (!(limit.burstMax >= 1 && limit.perMinuteMax > 0 && keysMax >= 1)) throw new RangeError('a rate limit needs burstMax >= 1, perMinuteMax > 0 and keysMax >= 1');
  }

  /** Whether `key` may act now without spending anything. */
  check(key: string): Take {
    const bucket = this.refill(key);
    return bucket.tokens >= 1 ? { ok: true } : { ok: false, retryAfterMs: this.waitMs(bucket) };
  }

  /** Spends one token of `key` (the bucket may go empty, never below zero). */
  spend(key: string): void {
    const bucket = this.refill(key);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  /** check, then spend when allowed. */
  take(key: string): Take {
    const result = this.check(key);
    if (result.ok) this.spend(key);
    return result;
  }

  private refill(key: string): Bucket {
    const nowMs = this.clock.nowMs();
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key); // re-inserted below: Map order is recency order
      const earnedTokens = (Math.max(0, nowMs - bucket.refilledAtMs) * this.limit.perMinuteMax) / 60_000;
      bucket.tokens = Math.min(this.limit.burstMax, bucket.tokens + earnedTokens);
      bucket.refilledAtMs = nowMs;
    } else {
      bucket = { tokens: this.limit.burstMax, refilledAtMs: nowMs };
    }
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.keysMax) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }

  private waitMs(bucket: Bucket): number {
    return Math.ceil(((1 - bucket.tokens) * 60_000) / this.limit.perMinuteMax);
  }
}
