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
  /** `presence`: the presence service numbers its pushes per gateway (see PresenceStamp). */
  | { kind: 'deliver'; to: string[]; frame: string; presence?: PresenceStamp }
  /**
   * The presence service's latest number on this gateway's channel, repeated every sweep: a
   * gateway that has seen less lost a presence push (the broker is at most once).
   */
  | { kind: 'presence-mark'; stream: string; seq: number }
  | { kind: 'close'; to: string[]; code: number; reason: string }
  /**
   * A newer connection of the same user and device opened elsewhere (connection `by`,
   * accepted at `atMs`): close each of `to` that is older with 4409 REPLACED.
   */
  | { kind: 'replace'; to: string[]; by: string; atMs: number };

/**
 * The number of a presence push on one gateway's channel: `seq` counts 1, 2, 3... per gateway
 * within `stream` (one life of the presence service). Chat servers' deliveries carry none.
 */
export interface PresenceStamp {
  stream: string;
  seq: number;
  /**
   * The user the push is about (pushes only, not marks): a gateway writes no push about a
   * user numbered below the last it wrote about them (PresencePushOrder).
   */
  user?: string;
}

/** Presence events from gateways to the presence service. */
export type PresenceEvent =
  | { kind: 'connected'; user: string; device: string; conn: string; gw: string; atMs: number }
  | { kind: 'disconnected'; user: string; device: string; conn: string; gw: string; atMs: number };

export const PRESENCE_EVENTS_CHANNEL = 'presence-events';

export function gatewayChannel(gatewayId: string): string {
  return `gw:${gatewayId}`;
}
