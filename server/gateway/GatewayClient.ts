import type { ServerLimits } from '../protocol/limits.ts';
import type { ServerConnection } from './ServerConnection.ts';

/** One connection a gateway holds, with its liveness, presence and rate-limit bookkeeping. */
export interface GatewayClient {
  id: string;
  user: string;
  device: string;
  link: ServerConnection;
  /** When the gateway accepted it: of two connections of one device, the older is replaced. */
  connectedAtMs: number;
  lastFrameAtMs: number;
  lastPresenceRefreshAtMs: number;
  bucketTokens: number;
  bucketRefilledAtMs: number;
  dropWindowStartMs: number;
  dropsInWindow: number;
  closing: boolean;
}

/** Ids follow the id rule (no white space), so a space joins user and device unambiguously. */
export function deviceKey(client: { user: string; device: string }): string {
  return `${client.user} ${client.device}`;
}

/** A close code as a label: a number in the WebSocket range, else `other` (bounded series). */
export function closeCodeLabel(code: number): string {
  return Number.isInteger(code) && code >= 1000 && code <= 4999 ? String(code) : 'other';
}

/** A connection just accepted: alive now, its presence fresh, its rate bucket full. */
export function newGatewayClient(id: string, identity: { user: string; device: string }, link: ServerConnection, nowMs: number, limits: ServerLimits): GatewayClient {
  return {
    id, user: identity.user, device: identity.device, link, connectedAtMs: nowMs, lastFrameAtMs: nowMs, lastPresenceRefreshAtMs: nowMs,
    bucketTokens: limits.framesBurstMax, bucketRefilledAtMs: nowMs, dropWindowStartMs: nowMs, dropsInWindow: 0, closing: false,
  };
}

/**
 * The token bucket of one connection: `ok` takes a token; without one the frame is dropped,
 * and more than rateLimitDropsBeforeCloseMax drops within a second is a `flood` (the gateway
 * closes the connection, 4429).
 */
export function takeRateToken(client: GatewayClient, nowMs: number, limits: ServerLimits): 'ok' | 'drop' | 'flood' {
  const elapsedMs = nowMs - client.bucketRefilledAtMs;
  client.bucketTokens = Math.min(limits.framesBurstMax, client.bucketTokens + (elapsedMs * limits.framesPerSecondMax) / 1000);
  client.bucketRefilledAtMs = nowMs;
  if (client.bucketTokens >= 1) {
    client.bucketTokens -= 1;
    return 'ok';
  }
  if (nowMs - client.dropWindowStartMs >= 1000) {
    client.dropWindowStartMs = nowMs;
    client.dropsInWindow = 0;
  }
  client.dropsInWindow++;
  return client.dropsInWindow > limits.rateLimitDropsBeforeCloseMax ? 'flood' : 'drop';
}
