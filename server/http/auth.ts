import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TokenService } from '../auth/TokenService.ts';
import { ApiError, forbidden } from './errors.ts';
import type { Caller, Handler, Reply, RequestContext } from './types.ts';

/** Wraps a handler that needs a logged-in user: it runs only with a valid bearer token. */
export function withUser(tokens: TokenService, handle: (ctx: RequestContext, caller: Caller) => Promise<Reply>): Handler {
  return async (ctx) => handle(ctx, authenticate(tokens, ctx.headers));
}

/** Wraps an operator-only handler: it runs only with the right x-admin-token header. */
export function withAdmin(adminToken: string, handle: Handler): Handler {
  return async (ctx) => {
    if (!sameSecret(headerValue(ctx.headers['x-admin-token']), adminToken)) throw forbidden();
    return handle(ctx);
  };
}

/**
 * Wraps an operator-only handler that a scraper calls (`/metrics`, the target list): the admin
 * token as `x-admin-token` or as `Authorization: Bearer <token>` (what Prometheus's
 * `authorization` setting sends).
 */
export function withAdminOrBearer(adminToken: string, handle: Handler): Handler {
  return async (ctx) => {
    if (!isAdminRequest(ctx.headers, adminToken)) throw forbidden();
    return handle(ctx);
  };
}

/** Whether the headers carry the admin token (x-admin-token, or a bearer token). */
export function isAdminRequest(headers: IncomingHttpHeaders, adminToken: string): boolean {
  return sameSecret(headerValue(headers['x-admin-token']), adminToken) || sameSecret(bearerToken(headers.authorization) ?? '', adminToken);
}

export function authenticate(tokens: TokenService, headers: IncomingHttpHeaders): Caller {
  const check = tokens.verify(bearerToken(headers.authorization));
  if (!check.ok) throw new ApiError(401, check.code, undefined, { 'www-authenticate': 'Bearer' });
  return { user: check.claims.sub, device: check.claims.dev };
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

function headerValue(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Compares secrets in constant time. Both sides are hashed first so their lengths match; an
 * empty configured token matches nothing, so a missing setting never opens the admin API.
 */
function sameSecret(given: string, expected: string): boolean {
  if (expected === '') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
