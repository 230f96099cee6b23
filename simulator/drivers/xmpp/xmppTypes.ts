/** The vocabulary of an XmppConnection (simulator/drivers/xmpp/XmppConnection.ts): namespaces, elements, results, events. */
import type { TimeSource } from '../../../server/ports/Clock.ts';
import type { ClientTransport } from '../../transport/ClientTransport.ts';

export const NS = {
  sm: 'urn:xmpp:sm:3',
  receipts: 'urn:xmpp:receipts',
  markers: 'urn:xmpp:chat-markers:0',
  mam: 'urn:xmpp:mam:2',
  sid: 'urn:xmpp:sid:0',
  forward: 'urn:xmpp:forward:0',
  delay: 'urn:xmpp:delay',
  rsm: 'http://jabber.org/protocol/rsm',
  dataForms: 'jabber:x:data',
  chatStates: 'http://jabber.org/protocol/chatstates',
  muc: 'http://jabber.org/protocol/muc',
  mucUser: 'http://jabber.org/protocol/muc#user',
  roster: 'jabber:iq:roster',
  carbons: 'urn:xmpp:carbons:2',
  csi: 'urn:xmpp:csi:0',
  discoInfo: 'http://jabber.org/protocol/disco#info',
  ping: 'urn:xmpp:ping',
  last: 'jabber:iq:last',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
} as const;

/** The part of an ltx element (what @xmpp/xml builds and parses) this module reads. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (XmlElement | string)[];
  is(name: string, xmlns?: string): boolean;
  getChild(name: string, xmlns?: string): XmlElement | undefined;
  getChildren(name: string, xmlns?: string): XmlElement[];
  getChildText(name: string, xmlns?: string): string | null;
  getText(): string;
  append(child: unknown): unknown;
  toString(): string;
}

export type XmppErrorCode =
  /** TCP connection refused or reset before the stream opened. */
  | 'unreachable'
  /** SASL refused the credentials (RFC 6120 not-authorized). */
  | 'auth_failed'
  /** No answer in time (login, IQ, room join). */
  | 'timeout'
  /** The server closed the stream with an error. */
  | 'stream_error'
  /** An IQ answered type="error" (condition in the message). */
  | 'iq_error'
  /** A room refused the join (members-only, banned, ...). */
  | 'join_refused'
  /** The operation needs an online stream. */
  | 'not_online';

export interface XmppError {
  code: XmppErrorCode;
  message: string;
  /** The XMPP error condition (RFC 6120 8.3.3), when there is one. */
  condition?: string;
}

export type XmppResult<T> = { ok: true; value: T } | { ok: false; error: XmppError };

export type ChatState = 'active' | 'composing' | 'paused' | 'inactive' | 'gone';
export type MarkerKind = 'received' | 'displayed' | 'acknowledged';

/** A chat or groupchat message with a body, as received live. */
export interface IncomingMessage {
  type: 'chat' | 'groupchat';
  /** Sender's bare JID (1:1), or the room's bare JID (groupchat). */
  from: string;
  /** Groupchat: the occupant's nick (the resource of `from`). */
  nick?: string;
  /** The sender's client id (stanza id attribute). */
  id: string;
  /** XEP-0359 origin-id, when the sender set one (this layer sets it equal to `id`). */
  originId?: string;
  /** XEP-0359 stanza-id the server gave it in the archive this side reads (by = own bare JID for 1:1, room for groupchat). */
  stanzaId?: string;
  body: string;
  receiptRequested: boolean;
  markable: boolean;
  /** XEP-0203 delay stamp (offline delivery, resent stanzas), ms since the epoch. */
  delayedMs?: number;
  /** A copy of a message this user sent from another resource (XEP-0280 carbons). */
  carbonSent?: boolean;
  /** XEP-0280: a copy of a message another resource of this user sent or received (carbons.ts). */
  carbon?: 'sent' | 'received';
  /** A sent carbon: the resource (device) of this user that sent it. */
  ownResource?: string;
}

export interface ArchivedMessage {
  /** The archive's id for it: the XEP-0359 stanza-id, the position MAM pages from. */
  archiveId: string;
  /** Server time of archiving (the forwarded delay stamp), ms since the epoch. */
  stampMs?: number;
  from: string;
  to?: string;
  type?: string;
  id?: string;
  originId?: string;
  body: string;
}

export interface MamPage {
  messages: ArchivedMessage[];
  /** The server says there is nothing after this page. */
  complete: boolean;
  first?: string;
  last?: string;
}

export interface MamQuery {
  /** Archive to query: a room's bare JID, or omitted for the user's own archive. */
  archive?: string;
  /** Only messages with this bare JID (1:1 chat), in the user's own archive. */
  with?: string;
  /** Messages after this archive id (stanza-id), in archive order. */
  afterId?: string;
  /** Page size (the server caps it; ejabberd at 50 by default). */
  max?: number;
}

export interface RosterItem {
  jid: string;
  subscription: string;
  name?: string;
  groups: string[];
}

export interface PresenceUpdate {
  /** Bare JID of the contact. */
  from: string;
  resource?: string;
  available: boolean;
  show?: string;
}

export interface XmppConnectionOptions {
  /** xmpp://127.0.0.1:25222 (TCP, xmpp.js's socket) or ws://127.0.0.1:25280/ws (RFC 7395, over `transport`) */
  service: string;
  /** The link a ws:// service rides (a phone's shaped link in runs); without it xmpp.js opens its own sockets. */
  transport?: ClientTransport;
  /**
   * Default true: after a dropped link xmpp.js reconnects by itself after `reconnectDelayMs`
   * and resumes. False: the owner calls `start` again (the phone's reconnect logic, the
   * driver). Each `start` after the first gets a fresh xmpp.js entity carrying the stream's
   * XEP-0198 state.
   */
  autoReconnect?: boolean;
  domain: string;
  username: string;
  password: string;
  /** Resource (device); the server picks one when omitted. */
  resource?: string;
  /** Delay before reconnecting after a dropped link, ms (default 200). */
  reconnectDelayMs?: number;
  /** XEP-0198: how often to ask the server for an ack when idle, ms (default 5,000). */
  ackRequestIntervalMs?: number;
  /** Login, IQ and room join timeout, ms (default 10,000). */
  requestTimeoutMs?: number;
  /**
   * SASL mechanism. Default SCRAM-SHA-1 (xmpp.js never picks PLAIN on a connection without TLS).
   * 'PLAIN' sends the password in the clear: for loopback load runs only, where SCRAM's 4,096
   * PBKDF2 rounds in JavaScript cost 160 to 180 ms of CPU per login against 2.3 ms for PLAIN
   * (bench/xmppScale.ts, docs/drivers.md).
   */
  saslMechanism?: 'SCRAM-SHA-1' | 'PLAIN';
  /** Send initial presence on every new session (default true: roster contacts see us online). */
  announcePresence?: boolean;
  time?: TimeSource;
}

export interface XmppConnectionEvents {
  /** A new session (first login, or after a resumption failed). */
  online: [jid: string];
  /** The stream was resumed (XEP-0198): no stanza lost, rooms still joined. */
  resumed: [];
  /** The link dropped; a reconnect follows unless `stop` was called (or autoReconnect is false: `start` again). */
  disconnected: [clean: boolean];
  /** A new session replaced one that could not be resumed: unacknowledged inbound stanzas may be lost (sync with MAM). */
  sessionLost: [];
  message: [IncomingMessage];
  receipt: [{ from: string; id: string }];
  marker: [{ from: string; kind: MarkerKind; id: string; type: 'chat' | 'groupchat'; nick?: string }];
  /** `delayed`: it carries a XEP-0203 delay (held by the server while this client was inactive, or re-sent on a resumed stream): not live. */
  chatState: [{ from: string; state: ChatState; type: 'chat' | 'groupchat'; nick?: string; delayed?: boolean }];
  presence: [PresenceUpdate];
  /** The server acknowledged (XEP-0198) a message this side sent. */
  acked: [{ id: string; to: string }];
  /** A sent message the server never acknowledged and that cannot be resent (session lost). */
  sendFailed: [{ id: string; to: string }];
  messageError: [{ from: string; id: string; condition?: string }];
  /** An error xmpp.js reported (socket, stream, SASL); informational, never thrown (not Node's 'error' event). */
  warning: [Error];
}
