import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../ports/Clock.ts';

export interface TokenClaims {
  /** User id. */
  sub: string;
  /** Device id: one user may hold several devices, each with its own connection. */
  dev: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; code: 'BAD_TOKEN' | 'TOKEN_EXPIRED' };

/**
 * Signed login tokens: base64url(JSON claims) + "." + base64url(HMAC-SHA256). Stateless, so
 * any gateway or HTTP server holding the secret verifies them. Expiry reads the injected clock.
 */
export class TokenService {
  constructor(private readonly secret: string, private readonly clock: Clock, private readonly ttlMs: number) {}

  issue(userId: string, deviceId: string): { token: string; expiresAtMs: number } {
    const claims: TokenClaims = { sub: userId, dev: deviceId, exp: this.clock.nowMs() + this.ttlMs };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${body}.${this.sign(body)}`, expiresAtMs: claims.exp };
  }

  verify(token: string | undefined | null): TokenCheck {
    if (typeof token !== 'string' || token.length > 4096) return { ok: false, code: 'BAD_TOKEN' };
    const dot = token.indexOf('.');
    if (dot <= 0) return { ok: false, code: 'BAD_TOKEN' };
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, code: 'BAD_TOKEN' };
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, code: 'BAD_TOKEN' };
    }
    if (!isClaims(claims)) return { ok: false, code: 'BAD_TOKEN' };
    if (claims.exp <= this.clock.nowMs()) return { ok: false, code: 'TOKEN_EXPIRED' };
    return { ok: true, claims };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}

function isClaims(value: unknown): value is TokenClaims {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.sub === 'string' && typeof v.dev === 'string' && typeof v.exp === 'number';
}
