import type { Clock } from '../ports/Clock.ts';
import { NO_METRICS, type CounterMetric, type Metrics } from '../ports/Metrics.ts';
import { httpInstruments } from '../metrics/instruments.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import { ApiError } from './errors.ts';
import { RateLimiter, type Take } from './RateLimiter.ts';

/**
 * The HTTP API's limits on account endpoints (docs/security.md), per API process:
 * - registrations per client address (registerPerAddress*);
 * - failed logins per user name and per client address (loginFailuresPer*): while either
 *   bucket is empty every login of that name, or from that address, gets 429, the right
 *   password included, so guessing cannot continue at speed.
 * Successful logins cost nothing: a load test logs in thousands of phones from one address.
 * Refusals are 429 TOO_MANY_REQUESTS with Retry-After in whole seconds.
 */
export class AuthRateLimits {
  private readonly registerByAddress: RateLimiter;
  private readonly failuresByUser: RateLimiter;
  private readonly failuresByAddress: RateLimiter;
  private readonly refused: CounterMetric;

  constructor(clock: Clock, limits: ServerLimits, metrics: Metrics = NO_METRICS) {
    this.refused = httpInstruments(metrics).rateLimited;
    const keys = limits.rateLimitKeysMax;
    this.registerByAddress = new RateLimiter(clock, { burstMax: limits.registerPerAddressBurstMax, perMinuteMax: limits.registerPerAddressPerMinuteMax }, keys);
    this.failuresByUser = new RateLimiter(clock, { burstMax: limits.loginFailuresPerUserBurstMax, perMinuteMax: limits.loginFailuresPerUserPerMinuteMax }, keys);
    this.failuresByAddress = new RateLimiter(clock, { burstMax: limits.loginFailuresPerAddressBurstMax, perMinuteMax: limits.loginFailuresPerAddressPerMinuteMax }, keys);
  }

  /** Spends one registration of `address`, or throws 429. */
  register(address: string): void {
    this.refuseUnlessOk(this.registerByAddress.take(address), 'register_per_address');
  }

  /** Throws 429 while `user` or `address` has used up its failed logins. */
  checkLogin(address: string, user: string): void {
    this.refuseUnlessOk(this.failuresByUser.check(user), 'login_failures_per_user');
    this.refuseUnlessOk(this.failuresByAddress.check(address), 'login_failures_per_address');
  }

  loginFailed(address: string, user: string): void {
    this.failuresByUser.spend(user);
    this.failuresByAddress.spend(address);
  }

  private refuseUnlessOk(take: Take, limit: string): void {
    if (take.ok) return;
    this.refused.inc({ limit });
    refuse(take);
  }
}

function refuse(take: Take & { ok: false }): never {
  const seconds = Math.max(1, Math.ceil(take.retryAfterMs / 1000));
  throw new ApiError(429, 'TOO_MANY_REQUESTS', `too many requests; retry after ${seconds} s`, { 'retry-after': String(seconds) });
}
