import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../ports/Clock.ts';
import { isId } from '../protocol/ids.ts';

export interface TokenClaims {
  /** User id (the one id rule, server/protocol/ids.ts). */
  sub: string;
  /** Device id: one user may hold several devices, each with its own connection. */
  dev: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; code: 'BAD_TOKEN' | 'TOKEN_EXPIRED' };

/** Longest token read at all, in characters; a real one is about 120. */
export const TOKEN_CHARS_MAX = 1024;
/**
 * The one accepted shape: unpadded base64url, one dot, and a signature of exactly the 43
 * characters an HMAC-SHA256 takes. Padding, standard base64 (+ /), white space and anything
 * appended fail here, before any decoding (a lenient decoder would skip them).
 */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;

/**
 * Signed login tokens: base64url(JSON claims) + "." + base64url(HMAC-SHA256). Stateless, so
 * any gateway or HTTP server holding the secret verifies them. Expiry reads the injected clock.
 *
 * Verification is total (never throws) and canonical: exactly the text `issue` produces for
 * some claims verifies, nothing else, so a token cannot be altered in any byte and still pass.
 * The subject and device must follow the id rule; whether the user exists is the caller's
 * question (the gateway asks the directory at upgrade).
 */
export class TokenService {
  constructor(private readonly secret: string, private readonly clock: Clock, private readonly ttlMs: number) {
    if (secret.length === 0) throw new Error('a token secret must not be empty');
  }

  issue(userId: string, deviceId: string): { token: string; expiresAtMs: number } {
    const claims: TokenClaims = { sub: userId, dev: deviceId, exp: this.clock.nowMs() + this.ttlMs };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${body}.${this.sign(body)}`, expiresAtMs: claims.exp };
  }

  verify(token: string | undefined | null): TokenCheck {
    if (typeof token !== 'string' || token.length > TOKEN_CHARS_MAX || !TOKEN_SHAPE.test(token)) return { ok: false, code: 'BAD_TOKEN' };
    const dot = token.indexOf('.');
    const body = token.slice(0, dot);
    // Same length by the shape check, so the comparison is constant-time over the whole signature.
    const given = Buffer.from(token.slice(dot + 1), 'latin1');
    const expected = Buffer.from(this.sign(body), 'latin1');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, code: 'BAD_TOKEN' };
    const decoded = Buffer.from(body, 'base64url');
    // A body with stray low bits in its last character decodes like the canonical one.
    if (decoded.toString('base64url') !== body) return { ok: false, code: 'BAD_TOKEN' };
    let claims: unknown;
    try {
      claims = JSON.parse(decoded.toString('utf8'));
    } catch {
      return { ok: false, code: 'BAD_TOKEN' };
    }
    if (!isClaims(claims)) return { ok: false, code: 'BAD_TOKEN' };
    if (claims.exp <= this.clock.nowMs()) return { ok: false, code: 'TOKEN_EXPIRED' };
    return { ok: true, claims: { sub: claims.sub, dev: claims.dev, exp: claims.exp } };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}

function isClaims(value: unknown): value is TokenClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return isId(v.sub) && isId(v.dev) && typeof v.exp === 'number' && Number.isSafeInteger(v.exp);
}
