// What travels between gateways, chat servers and the presence service over the broker and
// the inbound queue. Internal to the cluster; not part of the client protocol.

/** A client frame handed from a gateway to the chat servers, unparsed. */
export interface InboundEnvelope {
  /** Gateway id, so replies go to that gateway's channel. */
  gw: string;
  /** Connection id on that gateway. */
  conn: string;
  user: string;
  device: string;
  /** The client's frame text as received. */
  frame: string;
  /**
   * When the gateway enqueued it (its clock, ms): the chat server's queue wait metric. Optional,
   * so an envelope of an older gateway still in the queue is handled.
   */
  at?: number;
}

/**
 * A payload on a gateway's channel: frames to write to some of its connections. One publish
 * carries one frame for every targeted connection on that gateway (fan-out is per gateway).
 */
export type GatewayDelivery =
  | { kind: 'deliver'; to: string[]; frame: string }
  /** Every local connection but `except`. Only the `route-to-every-gateway` bug publishes this. */
  | { kind: 'broadcast'; except?: string; frame: string }
  | { kind: 'close'; to: string[]; code: number; reason: string }
  /**
   * A newer connection of the same user and device opened elsewhere (connection `by`,
   * accepted at `atMs`): close each of `to` that is older with 4409 REPLACED.
   */
  | { kind: 'replace'; to: string[]; by: string; atMs: number };

/** Presence events from gateways to the presence service. */
export type PresenceEvent =
  | { kind: 'connected'; user: string; device: string; conn: string; gw: string; atMs: number }
  | { kind: 'disconnected'; user: string; device: string; conn: string; gw: string; atMs: number };

export const PRESENCE_EVENTS_CHANNEL = 'presence-events';

export function gatewayChannel(gatewayId: string): string {
  return `gw:${gatewayId}`;
}
