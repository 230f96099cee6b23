/**
 * One XMPP client connection (RFC 6120/6121) over TCP, on xmpp.js (@xmpp/client), with the
 * extensions a chat app uses: XEP-0198 stream management (acks, resumption after a dropped link),
 * XEP-0184 delivery receipts, XEP-0333 chat markers, XEP-0313 MAM with XEP-0359 stanza ids,
 * XEP-0085 chat states, XEP-0045 MUC (join, groupchat, room MAM), roster presence, XEP-0280
 * carbons, XEP-0352 client state. A small interface that the XMPP protocol driver (issue 16/17)
 * wraps; it decides nothing about when to acknowledge or mark read (the app model does).
 *
 * Delivery model:
 * - `sendChat`/`sendGroupchat` give each message a client id (the stanza id, repeated as a
 *   XEP-0359 origin-id). While the link is down, sends wait in a local queue and go out when the
 *   stream is back (resumed or new); stanzas written but not acknowledged by the server when a
 *   link drops are re-sent by xmpp.js's stream management on resumption.
 * - `acked` fires when the server acknowledged a stanza (XEP-0198 `<a h>`): the server has it.
 * - Incoming stanzas are counted for XEP-0198 by xmpp.js; on resumption ejabberd re-sends what
 *   this side had not acknowledged.
 *
 * Errors are values: `start`, `mamQuery`, `joinRoom`, `getRoster` answer `{ ok: false, error }`
 * with a stable `code` (XmppErrorCode) instead of throwing. Timers come from the injected
 * TimeSource (docs/architecture.md); xmpp.js keeps its own internal timers (ack requests,
 * reconnect delay, IQ timeouts), which is why this layer only runs live, never in the
 * deterministic engine.
 */
import { EventEmitter } from 'node:events';
import { client as xmppClient, xml } from '@xmpp/client';
import type { Node as XmlNode } from '@xmpp/xml';
import type { TimeSource, TimerHandle } from '../../../server/ports/Clock.ts';
import { createSystemTime } from '../../../server/runtime/systemTime.ts';

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
  ping: 'urn:xmpp:ping',
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

/** The part of xmpp.js's client entity used here (its bundled types predate 0.14). */
interface XmppEntity {
  status: string;
  jid: { toString(): string; bare(): { toString(): string }; resource?: string; getResource?(): string } | null;
  socket: { destroy(error?: Error): void } | null;
  options: { service?: string; domain?: string };
  on(event: string, fn: (...args: never[]) => void): void;
  off(event: string, fn: (...args: never[]) => void): void;
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
  send(element: unknown): Promise<void>;
  reconnect: { delay: number; stop(): void; start(): void };
  iqCaller: { request(iq: unknown, timeoutMs?: number): Promise<XmlElement> };
  streamManagement: {
    enabled: boolean;
    id: string;
    requestAckInterval: number;
    timeout: number;
    on(event: 'ack' | 'fail', fn: (stanza: XmlElement) => void): void;
    on(event: 'resumed', fn: () => void): void;
  };
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
  /** e.g. xmpp://127.0.0.1:25222 */
  service: string;
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
  /** The link dropped; a reconnect follows unless `stop` was called. */
  disconnected: [clean: boolean];
  /** A new session replaced one that could not be resumed: unacknowledged inbound stanzas may be lost (sync with MAM). */
  sessionLost: [];
  message: [IncomingMessage];
  receipt: [{ from: string; id: string }];
  marker: [{ from: string; kind: MarkerKind; id: string; type: 'chat' | 'groupchat'; nick?: string }];
  chatState: [{ from: string; state: ChatState; type: 'chat' | 'groupchat'; nick?: string }];
  presence: [PresenceUpdate];
  /** The server acknowledged (XEP-0198) a message this side sent. */
  acked: [{ id: string; to: string }];
  /** A sent message the server never acknowledged and that cannot be resent (session lost). */
  sendFailed: [{ id: string; to: string }];
  messageError: [{ from: string; id: string; condition?: string }];
  /** An error xmpp.js reported (socket, stream, SASL); informational, never thrown (not Node's 'error' event). */
  warning: [Error];
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_RECONNECT_DELAY_MS = 200;
const DEFAULT_ACK_REQUEST_INTERVAL_MS = 5_000;

let idCounter = 0;

export class XmppConnection extends EventEmitter<XmppConnectionEvents> {
  readonly bareJid: string;
  private readonly entity: XmppEntity;
  private readonly time: TimeSource;
  private readonly requestTimeoutMs: number;
  private readonly announcePresence: boolean;
  /** Messages sent while the stream was down, in order. */
  private readonly pending: XmlElement[] = [];
  /** Rooms joined (bare JID -> nick), rejoined after a new (not resumed) session. */
  private readonly rooms = new Map<string, string>();
  private readonly joinWaiters = new Map<string, (result: XmppResult<void>) => void>();
  private readonly mamCollectors = new Map<string, { archive: string; messages: ArchivedMessage[] }>();
  private sessions = 0;
  /** A new session is bound but stream management is not settled yet: hold every send. */
  private awaitingSm = false;
  private smSettleTimer: TimerHandle | undefined;
  private readyWaiters: (() => void)[] = [];
  private stopped = false;
  private flushing = false;
  private readonly idPrefix: string;

  constructor(private readonly options: XmppConnectionOptions) {
    super();
    this.bareJid = `${options.username}@${options.domain}`;
    this.time = options.time ?? createSystemTime();
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.announcePresence = options.announcePresence ?? true;
    this.idPrefix = `${options.username}-${options.resource ?? 'r'}-${(++idCounter).toString(36)}`;
    // xmpp.js's own timeout for opening and closing a stream is 2 s by default, which 50
    // concurrent logins on this machine exceeded (a TimeoutError without message): use ours.
    const params: Record<string, unknown> = { service: options.service, domain: options.domain, timeout: this.requestTimeoutMs };
    const credentials = { username: options.username, password: options.password };
    const wanted = options.saslMechanism ?? 'SCRAM-SHA-1';
    params.credentials = async (authenticate: (c: typeof credentials, mechanism: string) => Promise<void>, mechanisms: string[]) => {
      const mechanism = mechanisms.includes(wanted) ? wanted : mechanisms.find((m) => m !== 'PLAIN');
      if (mechanism === undefined) throw new Error(`SASL: the server offers none of ${wanted}, or a mechanism other than PLAIN (${mechanisms.join(', ')})`);
      await authenticate(credentials, mechanism);
    };
    if (options.resource !== undefined) params.resource = options.resource;
    this.entity = xmppClient(params) as unknown as XmppEntity;
    this.entity.reconnect.delay = options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS;
    // xmpp.js 0.14 passes socket data to its parser without checking that one is attached; data
    // arriving after the stream closed (parser detached) threw an uncaught TypeError once in
    // these tests. Such data belongs to no stream: drop it. (Bound at the first connect.)
    const raw = this.entity as unknown as { _onData(data: Buffer): void; parser: unknown };
    const onData = raw._onData;
    raw._onData = function guardedOnData(this: typeof raw, data: Buffer): void {
      if (this.parser) onData.call(this, data);
    };
    const sm = this.entity.streamManagement;
    sm.requestAckInterval = options.ackRequestIntervalMs ?? DEFAULT_ACK_REQUEST_INTERVAL_MS;
    // Without an answer to <r/> for this long the link is taken as dead (xmpp.js disconnects).
    sm.timeout = Math.max(this.requestTimeoutMs, sm.requestAckInterval * 2);

    this.entity.on('error', ((err: Error) => this.emit('warning', err)) as never);
    this.entity.on('online', (() => this.onSession()) as never);
    this.entity.on('disconnect', ((info: { clean?: boolean } | undefined) => {
      if (!this.stopped) this.emit('disconnected', info?.clean === true);
    }) as never);
    this.entity.on('stanza', ((stanza: XmlElement) => this.onStanza(stanza)) as never);
    this.entity.on('nonza', ((element: XmlElement) => {
      if (element.is('enabled', NS.sm) || element.is('failed', NS.sm)) this.settleSession();
    }) as never);
    sm.on('resumed', () => {
      this.emit('resumed');
      // xmpp.js sets the status back to online right after this event, in the same turn.
      void Promise.resolve().then(() => this.flush());
    });
    sm.on('ack', (stanza) => {
      if (stanza.name === 'message' && stanza.getChild('body')) this.emit('acked', { id: stanza.attrs.id ?? '', to: stanza.attrs.to ?? '' });
    });
    sm.on('fail', (stanza) => {
      if (stanza.name === 'message' && stanza.getChild('body')) this.emit('sendFailed', { id: stanza.attrs.id ?? '', to: stanza.attrs.to ?? '' });
    });
  }

  /** The full JID once online (bare/resource). */
  get jid(): string | undefined {
    return this.entity.jid?.toString();
  }

  /** A session is up and settled (stream management enabled or refused): sends go out. */
  get online(): boolean {
    return this.entity.status === 'online' && !this.awaitingSm;
  }

  /** The XEP-0198 session id (non-empty while resumable). */
  get smId(): string {
    return this.entity.streamManagement.id;
  }

  /** Connect, authenticate (SASL SCRAM-SHA-1), bind, enable stream management. */
  async start(): Promise<XmppResult<{ jid: string }>> {
    this.stopped = false;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.time.schedule(this.requestTimeoutMs, () => resolve('timeout'));
    });
    try {
      // 'online' comes with resource binding; stream management is enabled right after, and only
      // a stream with an SM id can be resumed, so wait for <enabled/> (or <failed/>) too.
      const smReady = new Promise<void>((resolve) => this.readyWaiters.push(resolve));
      // A link that drops during login ends the attempt (the caller retries), rather than
      // leaving xmpp.js's reconnect to finish a login nobody waits for.
      let onDrop: (() => void) | undefined;
      const dropped = new Promise<'dropped'>((resolve) => {
        onDrop = () => resolve('dropped');
        this.entity.on('disconnect', onDrop as never);
      });
      const outcome = await Promise.race([this.entity.start().then(() => smReady).then(() => 'online' as const), timeout, dropped]);
      this.entity.off('disconnect', onDrop as never);
      if (outcome === 'dropped') {
        this.entity.reconnect.stop();
        void this.entity.stop().catch(() => {});
        return { ok: false, error: { code: 'unreachable', message: 'the link dropped during login' } };
      }
      if (outcome === 'timeout') {
        this.entity.reconnect.stop();
        void this.entity.stop().catch(() => {});
        return { ok: false, error: { code: 'timeout', message: `no session within ${this.requestTimeoutMs} ms` } };
      }
      return { ok: true, value: { jid: this.jid ?? this.bareJid } };
    } catch (err) {
      this.entity.reconnect.stop();
      return { ok: false, error: classifyStartError(err) };
    } finally {
      timer?.cancel();
    }
  }

  /** Close the stream cleanly (the server ends the session; nothing to resume). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.entity.reconnect.stop();
    this.smSettleTimer?.cancel();
    for (const [, resolve] of this.joinWaiters) resolve({ ok: false, error: { code: 'not_online', message: 'stopped' } });
    this.joinWaiters.clear();
    try {
      await this.entity.stop();
    } catch {
      // Already down: nothing to close.
    }
  }

  /**
   * Cut the TCP link without closing the stream, as a phone losing its network does. The server
   * keeps the session for resumption (mod_stream_mgmt resume_timeout); xmpp.js reconnects after
   * `reconnectDelayMs` and resumes.
   */
  dropLink(): void {
    this.entity.socket?.destroy();
  }

  /** A fresh client id for a stanza. */
  nextId(): string {
    return `${this.idPrefix}-${(++idCounter).toString(36)}`;
  }

  /** A 1:1 message with a body; asks for a 0184 receipt and is markable (0333). Returns its id. */
  sendChat(to: string, body: string, opts: { id?: string; requestReceipt?: boolean; markable?: boolean } = {}): string {
    return this.sendBody('chat', to, body, opts);
  }

  /** A message to a joined room. Returns its id. */
  sendGroupchat(room: string, body: string, opts: { id?: string; markable?: boolean } = {}): string {
    return this.sendBody('groupchat', room, body, { ...opts, requestReceipt: false });
  }

  private sendBody(type: 'chat' | 'groupchat', to: string, body: string, opts: { id?: string; requestReceipt?: boolean; markable?: boolean }): string {
    const id = opts.id ?? this.nextId();
    const children: XmlNode[] = [xml('body', {}, body), xml('origin-id', { xmlns: NS.sid, id })];
    if (opts.requestReceipt !== false && type === 'chat') children.push(xml('request', { xmlns: NS.receipts }));
    if (opts.markable !== false) children.push(xml('markable', { xmlns: NS.markers }));
    if (type === 'chat') children.push(xml('active', { xmlns: NS.chatStates }));
    this.enqueue(xml('message', { type, to, id }, ...children) as unknown as XmlElement);
    return id;
  }

  /** XEP-0184: tell `to` that message `id` arrived. */
  sendReceipt(to: string, id: string): void {
    this.enqueue(xml('message', { to, id: this.nextId() }, xml('received', { xmlns: NS.receipts, id })) as unknown as XmlElement);
  }

  /**
   * XEP-0333: a chat marker. For 1:1 `id` is the message's id; in a room it is the room's
   * stanza-id of the message (XEP-0333 section 4), sent to the room.
   */
  sendMarker(to: string, id: string, kind: MarkerKind = 'displayed', type: 'chat' | 'groupchat' = 'chat'): void {
    this.enqueue(xml('message', { to, type, id: this.nextId() }, xml(kind, { xmlns: NS.markers, id })) as unknown as XmlElement);
  }

  /** XEP-0085: a standalone chat state (typing is `composing`, then `paused` or `active`). */
  sendChatState(to: string, state: ChatState, type: 'chat' | 'groupchat' = 'chat'): void {
    // Nothing else in the stanza: ejabberd's CSI queues only a "standalone" chat state, and a
    // XEP-0334 <no-store/> hint beside it made ejabberd 23.01 deliver it to an inactive client at
    // once (MAM does not archive bodyless messages anyway).
    this.enqueue(xml('message', { to, type, id: this.nextId() }, xml(state, { xmlns: NS.chatStates })) as unknown as XmlElement);
  }

  /** Broadcast presence to roster contacts (and joined rooms see it from the room). */
  sendPresence(opts: { show?: 'away' | 'chat' | 'dnd' | 'xa'; status?: string; unavailable?: boolean } = {}): void {
    const children: XmlNode[] = [];
    if (opts.show) children.push(xml('show', {}, opts.show));
    if (opts.status) children.push(xml('status', {}, opts.status));
    this.enqueue(xml('presence', opts.unavailable ? { type: 'unavailable' } : {}, ...children) as unknown as XmlElement);
  }

  /** XEP-0352: the app went to the background (`inactive`) or came back (`active`). */
  async setClientState(state: 'active' | 'inactive'): Promise<void> {
    if (!this.online) return;
    await this.entity.send(xml(state, { xmlns: NS.csi }));
  }

  /** XEP-0280: also receive copies of this user's messages to and from other resources. */
  async enableCarbons(): Promise<XmppResult<void>> {
    const answer = await this.iq(xml('iq', { type: 'set', id: this.nextId() }, xml('enable', { xmlns: NS.carbons })));
    return answer.ok ? { ok: true, value: undefined } : answer;
  }

  /** The roster (RFC 6121 section 2). */
  async getRoster(): Promise<XmppResult<RosterItem[]>> {
    const answer = await this.iq(xml('iq', { type: 'get', id: this.nextId() }, xml('query', { xmlns: NS.roster })));
    if (!answer.ok) return answer;
    const query = answer.value.getChild('query', NS.roster);
    const items = (query?.getChildren('item') ?? []).map((item): RosterItem => {
      const roster: RosterItem = { jid: item.attrs.jid ?? '', subscription: item.attrs.subscription ?? 'none', groups: item.getChildren('group').map((g) => g.getText()) };
      if (item.attrs.name !== undefined) roster.name = item.attrs.name;
      return roster;
    });
    return { ok: true, value: items };
  }

  /** XEP-0199 ping of the server: a round trip through the stream. */
  async ping(): Promise<XmppResult<void>> {
    const answer = await this.iq(xml('iq', { type: 'get', to: this.options.domain, id: this.nextId() }, xml('ping', { xmlns: NS.ping })));
    return answer.ok ? { ok: true, value: undefined } : answer;
  }

  /**
   * XEP-0045: join a room with `nick` and no history (history comes from the room's MAM).
   * Resolves when the room sent our own presence (status 110). Remembered and rejoined after a
   * session that could not be resumed.
   */
  async joinRoom(room: string, nick: string): Promise<XmppResult<void>> {
    if (!this.online) return { ok: false, error: { code: 'not_online', message: 'joinRoom needs an online stream' } };
    const key = room.toLowerCase();
    const result = new Promise<XmppResult<void>>((resolve) => this.joinWaiters.set(key, resolve));
    const timer = this.time.schedule(this.requestTimeoutMs, () => {
      const waiter = this.joinWaiters.get(key);
      this.joinWaiters.delete(key);
      waiter?.({ ok: false, error: { code: 'timeout', message: `no self-presence from ${room} within ${this.requestTimeoutMs} ms` } });
    });
    this.rooms.set(key, nick);
    await this.entity.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: NS.muc }, xml('history', { maxstanzas: '0' }))));
    const outcome = await result;
    timer.cancel();
    if (!outcome.ok) this.rooms.delete(key);
    return outcome;
  }

  /**
   * XEP-0313: one page of an archive, in the archive's order (server order), after `afterId` when
   * given. Messages are collected from the result stanzas that precede the IQ answer.
   */
  async mamQuery(query: MamQuery = {}): Promise<XmppResult<MamPage>> {
    const queryId = this.nextId();
    const fields: XmlNode[] = [xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS.mam))];
    if (query.with) fields.push(xml('field', { var: 'with' }, xml('value', {}, query.with)));
    const set: XmlNode[] = [xml('max', {}, String(query.max ?? 50))];
    if (query.afterId) set.push(xml('after', {}, query.afterId));
    const attrs: Record<string, string> = { type: 'set', id: this.nextId() };
    if (query.archive) attrs.to = query.archive;
    const collected: ArchivedMessage[] = [];
    this.mamCollectors.set(queryId, { archive: (query.archive ?? this.bareJid).toLowerCase(), messages: collected });
    try {
      const answer = await this.iq(xml('iq', attrs, xml('query', { xmlns: NS.mam, queryid: queryId },
        xml('x', { xmlns: NS.dataForms, type: 'submit' }, ...fields), xml('set', { xmlns: NS.rsm }, ...set))));
      if (!answer.ok) return answer;
      const fin = answer.value.getChild('fin', NS.mam);
      const rsm = fin?.getChild('set', NS.rsm);
      const page: MamPage = { messages: collected, complete: fin?.attrs.complete === 'true' };
      const first = rsm?.getChildText('first');
      const last = rsm?.getChildText('last');
      if (first) page.first = first;
      if (last) page.last = last;
      return { ok: true, value: page };
    } finally {
      this.mamCollectors.delete(queryId);
    }
  }

  /** Every archived message after `afterId`, page by page, in archive order. */
  async mamFetchAll(query: MamQuery, maxPages = 100): Promise<XmppResult<ArchivedMessage[]>> {
    const all: ArchivedMessage[] = [];
    let after = query.afterId;
    for (let pageNo = 0; pageNo < maxPages; pageNo++) {
      const page = await this.mamQuery(after === undefined ? { ...query } : { ...query, afterId: after });
      if (!page.ok) return page;
      all.push(...page.value.messages);
      if (page.value.complete || page.value.messages.length === 0 || !page.value.last) return { ok: true, value: all };
      after = page.value.last;
    }
    return { ok: true, value: all };
  }

  private async iq(element: unknown): Promise<XmppResult<XmlElement>> {
    if (!this.online) return { ok: false, error: { code: 'not_online', message: 'an IQ needs an online stream' } };
    try {
      return { ok: true, value: await this.entity.iqCaller.request(element, this.requestTimeoutMs) };
    } catch (err) {
      const e = err as Error & { condition?: string; name?: string };
      if (e.name === 'TimeoutError') return { ok: false, error: { code: 'timeout', message: e.message } };
      const error: XmppError = { code: 'iq_error', message: e.message };
      if (e.condition) error.condition = e.condition;
      return { ok: false, error };
    }
  }

  private enqueue(stanza: XmlElement): void {
    this.pending.push(stanza);
    void this.flush();
  }

  /** Write the local queue in order while the stream is online; stop at the first failure (the rest wait for the next session). */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0 && this.online) {
        const stanza = this.pending[0]!;
        try {
          await this.entity.send(stanza);
          this.pending.shift();
        } catch {
          // The link went down: the write failed, and xmpp.js's stream management queues a
          // stanza only after a successful write (its filter runs on 'send'), so it is not in
          // that queue. Keep it here for the next stream (resumed or new).
          break;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * A new session is bound. Nothing is sent until stream management is settled (<enabled/> or
   * <failed/>): xmpp.js counts inbound stanzas in an asynchronous middleware and resets the count
   * on <enabled/>, so stanzas answered in between (room presences after a rejoin) could be counted
   * after the reset; ejabberd then closed the stream with "Client acknowledged more stanzas than
   * sent by server" (seen after a kicked session). A server that never answers settles after
   * `requestTimeoutMs`.
   */
  private onSession(): void {
    this.sessions += 1;
    if (this.sessions > 1) this.emit('sessionLost');
    this.awaitingSm = true;
    this.smSettleTimer?.cancel();
    this.smSettleTimer = this.time.schedule(this.requestTimeoutMs, () => this.settleSession());
  }

  private settleSession(): void {
    if (!this.awaitingSm) return;
    this.awaitingSm = false;
    this.smSettleTimer?.cancel();
    this.smSettleTimer = undefined;
    // Before anything queued: initial presence, then rooms again (a session's end left them).
    const first: XmlElement[] = [];
    if (this.announcePresence) first.push(xml('presence') as unknown as XmlElement);
    for (const [room, nick] of this.rooms) {
      first.push(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: NS.muc }, xml('history', { maxstanzas: '0' }))) as unknown as XmlElement);
    }
    this.pending.unshift(...first);
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    this.emit('online', this.jid ?? this.bareJid);
    void this.flush();
  }

  private onStanza(stanza: XmlElement): void {
    if (stanza.is('message')) this.onMessage(stanza);
    else if (stanza.is('presence')) this.onPresence(stanza);
  }

  private onMessage(stanza: XmlElement): void {
    const from = stanza.attrs.from ?? '';
    const [fromBare, fromResource] = splitJid(from);
    const type = stanza.attrs.type === 'groupchat' ? 'groupchat' : 'chat';

    const mamResult = stanza.getChild('result', NS.mam);
    if (mamResult) {
      const collector = this.mamCollectors.get(mamResult.attrs.queryid ?? '');
      // Only from the archive queried (a result from anyone else would be forged).
      if (collector && (from === '' ? collector.archive === this.bareJid.toLowerCase() : fromBare.toLowerCase() === collector.archive)) {
        const archived = parseArchived(mamResult);
        if (archived) collector.messages.push(archived);
      }
      return;
    }

    if (stanza.attrs.type === 'error') {
      const errorEl = stanza.getChild('error');
      const condition = errorEl?.children.find((c): c is XmlElement => typeof c !== 'string' && c.attrs.xmlns === NS.stanzas)?.name;
      const event: { from: string; id: string; condition?: string } = { from: fromBare, id: stanza.attrs.id ?? '' };
      if (condition) event.condition = condition;
      this.emit('messageError', event);
      return;
    }

    // XEP-0280 carbons: unwrap copies of this user's own traffic on other resources.
    const carbon = stanza.getChild('received', NS.carbons) ?? stanza.getChild('sent', NS.carbons);
    if (carbon) {
      if (fromBare !== this.bareJid) return; // only our own server may send carbons
      const inner = carbon.getChild('forwarded', NS.forward)?.getChild('message');
      if (inner) this.onCarbon(inner, carbon.name === 'sent');
      return;
    }

    const receipt = stanza.getChild('received', NS.receipts);
    if (receipt?.attrs.id) this.emit('receipt', { from: fromBare, id: receipt.attrs.id });

    for (const kind of ['received', 'displayed', 'acknowledged'] as const) {
      const marker = stanza.getChild(kind, NS.markers);
      if (marker?.attrs.id) {
        const event: { from: string; kind: MarkerKind; id: string; type: 'chat' | 'groupchat'; nick?: string } = { from: fromBare, kind, id: marker.attrs.id, type };
        if (type === 'groupchat' && fromResource) event.nick = fromResource;
        this.emit('marker', event);
      }
    }

    const body = stanza.getChildText('body');
    if (body === null) {
      const state = stanza.children.find((c): c is XmlElement => typeof c !== 'string' && c.attrs.xmlns === NS.chatStates);
      if (state) {
        const event: { from: string; state: ChatState; type: 'chat' | 'groupchat'; nick?: string } = { from: fromBare, state: state.name as ChatState, type };
        if (type === 'groupchat' && fromResource) event.nick = fromResource;
        this.emit('chatState', event);
      }
      return;
    }
    this.emit('message', this.incoming(stanza, type, fromBare, fromResource, body));
  }

  private onCarbon(inner: XmlElement, sent: boolean): void {
    const body = inner.getChildText('body');
    if (body === null) return;
    const peer = sent ? inner.attrs.to ?? '' : inner.attrs.from ?? '';
    const [peerBare] = splitJid(peer);
    const message = this.incoming(inner, 'chat', peerBare, undefined, body);
    if (sent) message.carbonSent = true;
    this.emit('message', message);
  }

  private incoming(stanza: XmlElement, type: 'chat' | 'groupchat', fromBare: string, fromResource: string | undefined, body: string): IncomingMessage {
    const message: IncomingMessage = {
      type, from: fromBare, id: stanza.attrs.id ?? '', body,
      receiptRequested: stanza.getChild('request', NS.receipts) !== undefined,
      markable: stanza.getChild('markable', NS.markers) !== undefined,
    };
    if (type === 'groupchat' && fromResource) message.nick = fromResource;
    const originId = stanza.getChild('origin-id', NS.sid)?.attrs.id;
    if (originId) message.originId = originId;
    // The stanza-id to trust is the one added by the archive we read from: our own server for
    // 1:1 (by = our bare JID), the room for groupchat (by = room).
    const by = type === 'groupchat' ? fromBare : this.bareJid;
    const stanzaId = stanza.getChildren('stanza-id', NS.sid).find((s) => s.attrs.by === by)?.attrs.id;
    if (stanzaId) message.stanzaId = stanzaId;
    const stamp = stanza.getChild('delay', NS.delay)?.attrs.stamp;
    if (stamp) {
      const ms = Date.parse(stamp);
      if (!Number.isNaN(ms)) message.delayedMs = ms;
    }
    return message;
  }

  private onPresence(stanza: XmlElement): void {
    const from = stanza.attrs.from ?? '';
    const [fromBare, resource] = splitJid(from);
    const mucUser = stanza.getChild('x', NS.mucUser);
    const key = fromBare.toLowerCase();
    if (mucUser || this.joinWaiters.has(key)) {
      const waiter = this.joinWaiters.get(key);
      if (!waiter) return;
      if (stanza.attrs.type === 'error') {
        this.joinWaiters.delete(key);
        const errorEl = stanza.getChild('error');
        const condition = errorEl?.children.find((c): c is XmlElement => typeof c !== 'string' && c.attrs.xmlns === NS.stanzas)?.name;
        const error: XmppError = { code: 'join_refused', message: `${fromBare} refused the join${condition ? ` (${condition})` : ''}` };
        if (condition) error.condition = condition;
        waiter({ ok: false, error });
        return;
      }
      const self = mucUser?.getChildren('status').some((s) => s.attrs.code === '110');
      if (self) {
        this.joinWaiters.delete(key);
        waiter({ ok: true, value: undefined });
      }
      return;
    }
    const type = stanza.attrs.type;
    if (type !== undefined && type !== 'unavailable') return; // subscribe/subscribed/probe/error
    if (fromBare === this.bareJid) return;
    const update: PresenceUpdate = { from: fromBare, available: type !== 'unavailable' };
    if (resource) update.resource = resource;
    const show = stanza.getChildText('show');
    if (show) update.show = show;
    this.emit('presence', update);
  }
}

function splitJid(jid: string): [string, string | undefined] {
  const slash = jid.indexOf('/');
  return slash < 0 ? [jid, undefined] : [jid.slice(0, slash), jid.slice(slash + 1)];
}

function parseArchived(result: XmlElement): ArchivedMessage | undefined {
  const forwarded = result.getChild('forwarded', NS.forward);
  const inner = forwarded?.getChild('message');
  const body = inner?.getChildText('body');
  if (!inner || body === null || body === undefined) return undefined;
  const archived: ArchivedMessage = { archiveId: result.attrs.id ?? '', from: inner.attrs.from ?? '', body };
  const stamp = forwarded?.getChild('delay', NS.delay)?.attrs.stamp;
  if (stamp) {
    const ms = Date.parse(stamp);
    if (!Number.isNaN(ms)) archived.stampMs = ms;
  }
  if (inner.attrs.to) archived.to = inner.attrs.to;
  if (inner.attrs.type) archived.type = inner.attrs.type;
  if (inner.attrs.id) archived.id = inner.attrs.id;
  const originId = inner.getChild('origin-id', NS.sid)?.attrs.id;
  if (originId) archived.originId = originId;
  return archived;
}

function classifyStartError(err: unknown): XmppError {
  const e = err as Error & { code?: string; condition?: string; name?: string };
  const message = e?.message ?? String(err);
  if (e?.name === 'SASLError') {
    const error: XmppError = { code: 'auth_failed', message };
    if (e.condition) error.condition = e.condition;
    return error;
  }
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ECONNRESET' || e?.code === 'EPIPE') return { code: 'unreachable', message };
  if (e?.name === 'TimeoutError') return { code: 'timeout', message };
  const error: XmppError = { code: 'stream_error', message };
  if (e?.condition) error.condition = e.condition;
  return error;
}
