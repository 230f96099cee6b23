// The XMPP phone driver: the app model's intents and events (simulator/drivers/PhoneDriver.ts)
// over an XmppConnection (RFC 6120/6121 with XEP-0198, 0184, 0333, 0313/0359, 0085), for a
// server nobody here wrote (ejabberd). docs/drivers.md maps every intent; in short:
// - a 1:1 chat `d:<a>:<b>` is the conversation with the other user's bare JID;
// - send: a <message type="chat"> whose stanza id and origin-id are the clientMsgId; `stored`
//   when the server acknowledges it (XEP-0198 <a/>). ejabberd does not deduplicate by origin-id,
//   so a repeat after a lost session may be stored twice (idempotentSend: false); the driver
//   numbers a message once by its origin-id, so neither side shows the copy;
// - positions: numbered by this device in the order it learns of messages (ChatPositions.ts;
//   serverOrder: false); sync from a position is a MAM query after the archive id held there;
// - ack / read: XEP-0184 receipts for each message up to the position / one XEP-0333
//   `displayed` marker for the newest (cumulative by that XEP);
// - presence: roster presence (contacts must be subscribed: EjabberdAdmin.makeFriends);
// - typing: XEP-0085 `composing`;
// - app-state: XEP-0352 inactive/active (clientState.ts); a user's other devices: XEP-0280
//   carbons (carbons.ts), enabled before the session is announced.
// - group chats `g:<room>`: XEP-0045 rooms with the room's MAM (MucChats.ts); no receipts or read
//   markers there (capabilities.groups).
// Token syncs are refused as unsupported.
// Links: a ws:// endpoint is XMPP over WebSocket (RFC 7395) on the ClientTransport handed in (the
// phone's shaped link in runs, so its network profile's faults apply); the XMPP stream outlives a
// dropped link, and the next `open` resumes it (XEP-0198) where the server still holds it.
import type { TimeSource } from '../../../server/ports/Clock.ts';
import type { MetricsSink } from '../../metrics/MetricsSink.ts';
import type { ClientTransport } from '../../transport/ClientTransport.ts';
import type { DriverCapabilities } from '../DriverCapabilities.ts';
import type { DriverSession, PhoneDriver, SessionHandlers } from '../PhoneDriver.ts';
import { ChatPositions } from './ChatPositions.ts';
import { MessageCarbons } from './carbons.ts';
import { ClientStateIndication } from './clientState.ts';
import { type RoomNames } from './MucChats.ts';
import { XmppConnection } from './XmppConnection.ts';
import { bare, localPart } from './jids.ts';
import { XmppDriverSession } from './XmppDriverSession.ts';

/**
 * What XMPP on ejabberd carries for the app model, and what it does not. In groups (MUC) no
 * delivery receipts (XEP-0184 section 5.3 discourages them in rooms) and no read ticks: chatsim's
 * group tick is the minimum over the members' cursors, and markers sent to a room are neither
 * archived nor kept for an occupant who is away, so a sender cannot compute it (docs/drivers.md).
 */
export const XMPP_CAPABILITIES: DriverCapabilities = Object.freeze({
  serverOrder: false, receipts: true, readMarkers: true, presence: true, typing: true, syncFromPosition: true, idempotentSend: false,
  groups: Object.freeze({ receipts: false, readMarkers: false }),
});

export interface XmppDriverOptions {
  /** The phone's user (the JID's local part) and device (the resource). */
  user: string;
  device: string;
  domain: string;
  /**
   * Put before every user's name to make its XMPP account (`<prefix>u3@domain`), so that two runs
   * against one server do not share accounts (EjabberdProvisioner's per-run prefix). Default none.
   */
  userPrefix?: string;
  /** The MUC service of group chats; default `conference.<domain>`. */
  mucDomain?: string;
  /** Default SCRAM-SHA-1; PLAIN for loopback load runs (see XmppConnectionOptions). */
  saslMechanism?: 'SCRAM-SHA-1' | 'PLAIN';
  /** Announced to the phone as its heartbeat interval (XEP-0199 pings), ms. Default 30,000. */
  heartbeatIntervalMs?: number;
  requestTimeoutMs?: number;
  time?: TimeSource;
  /** The link a ws:// endpoint rides (the phone's shaped link); an xmpp:// endpoint uses xmpp.js's own TCP socket. */
  transport?: ClientTransport;
}

/** A device's stream across links: its connection, with the client state and carbons that listen to it. */
export interface XmppStream {
  connection: XmppConnection;
  key: string;
  csi: ClientStateIndication;
  carbons: MessageCarbons;
}


/** One driver per phone: its positions outlive sessions, as the phone's local store does. */
export class XmppDriver implements PhoneDriver, RoomNames {
  readonly protocol = 'xmpp';
  readonly capabilities = XMPP_CAPABILITIES;
  readonly positions = new ChatPositions();
  /** Bodies of own messages sent and not yet acknowledged (the ack names only the id; it may come on a later link, after resumption). */
  readonly pendingBodies = new Map<string, string>();
  /** Receipts and markers for own messages the server has not acknowledged yet (a fast peer). */
  readonly earlyReceipts = new Map<string, Array<{ chat: string; user: string; kind: 'delivered' | 'read' }>>();
  /** Per contact, its resources (devices) heard available: a user is online while any is (RFC 6121 presence is per resource). Kept across a resumed stream; a new session starts it again. */
  readonly online = new Map<string, Set<string>>();
  /** The device's XMPP stream across links (made at the first open, dropped on a clean close or a refused login). */
  private client: XmppStream | undefined;
  /** Group chats this phone has named: every session joins their rooms at start. */
  readonly knownRooms = new Set<string>();
  /**
   * Client ids this device sent. An own message found in an archive or a carbon is this device's
   * only if listed here; otherwise another device of the user sent it, and the phone shows it
   * (an archive's `from` may name the resource, a room's never does).
   */
  readonly sentHere = new Set<string>();

  constructor(readonly options: XmppDriverOptions) {}

  /** The connection to `endpoint` as `password`: the one an earlier link left (resumable), or a new one. */
  connectionFor(endpoint: string, password: string, metrics: MetricsSink): XmppStream {
    const key = `${endpoint} ${password}`;
    if (this.client?.key === key) return this.client;
    if (this.client) this.forget(this.client.connection);
    const o = this.options;
    const connection = new XmppConnection({
      service: endpoint, domain: o.domain, username: `${o.userPrefix ?? ''}${o.user}`, password, resource: o.device, autoReconnect: false,
      ...(o.transport ? { transport: o.transport } : {}), ...(o.saslMechanism ? { saslMechanism: o.saslMechanism } : {}),
      ...(o.requestTimeoutMs ? { requestTimeoutMs: o.requestTimeoutMs } : {}), ...(o.time ? { time: o.time } : {}),
    });
    connection.on('warning', () => {});
    this.client = { connection, key, csi: new ClientStateIndication(connection, metrics), carbons: new MessageCarbons(connection, metrics) };
    return this.client;
  }

  /** The stream is over (closed cleanly, or its login refused): the next open starts a new one. */
  forget(connection: XmppConnection): void {
    if (this.client?.connection !== connection) return;
    this.client = undefined;
    this.pendingBodies.clear();
    void connection.stop();
  }

  /** `endpoint`: the XMPP service (xmpp://host:port); `token`: the user's password. */
  open(endpoint: string, token: string, metrics: MetricsSink, handlers: SessionHandlers): DriverSession {
    return new XmppDriverSession(this, endpoint, token, metrics, handlers);
  }

  /** The app's chat id for a 1:1 conversation with `peer` (a local part). */
  directChat(peer: string): string {
    const self = this.options.user;
    return self < peer ? `d:${self}:${peer}` : `d:${peer}:${self}`;
  }

  /** The peer's bare JID of a 1:1 chat id, or undefined for a chat this driver cannot map. */
  peerJid(chat: string): string | undefined {
    const parts = chat.split(':');
    if (parts.length !== 3 || parts[0] !== 'd') return undefined;
    const peer = parts[1] === this.options.user ? parts[2] : parts[2] === this.options.user ? parts[1] : undefined;
    return peer ? `${this.options.userPrefix ?? ''}${peer}@${this.options.domain}` : undefined;
  }

  /** The bare JID of an app user (the run's prefix before its name). */
  jidOf(user: string): string {
    return `${this.options.userPrefix ?? ''}${user}@${this.options.domain}`;
  }

  /** The app's user of a JID: its local part without the run's prefix. */
  userOf(jid: string): string {
    const local = localPart(jid);
    const prefix = this.options.userPrefix?.toLowerCase() ?? '';
    return prefix !== '' && local.startsWith(prefix) ? local.slice(prefix.length) : local;
  }

  get mucDomain(): string {
    return this.options.mucDomain ?? `conference.${this.options.domain}`;
  }

  /** The room's bare JID of a group chat `g:<room>`. */
  roomJid(chat: string): string | undefined {
    return chat.startsWith('g:') && chat.length > 2 ? `${chat.slice(2)}@${this.mucDomain}` : undefined;
  }

  /** The group chat id of a room's JID (bare or full), or undefined for a JID not on the MUC service. */
  groupChatOf(jid: string): string | undefined {
    const [local, domain] = bare(jid).split('@');
    return local && domain === this.mucDomain.toLowerCase() ? `g:${local}` : undefined;
  }
}
