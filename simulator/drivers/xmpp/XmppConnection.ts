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
import { xml } from '@xmpp/client';
import type { Node as XmlNode } from '@xmpp/xml';
import type { TimeSource, TimerHandle } from '../../../server/ports/Clock.ts';
import { createSystemTime } from '../../../server/runtime/systemTime.ts';
import { NS, type ArchivedMessage, type ChatState, type MamPage, type MamQuery, type MarkerKind, type RosterItem, type XmlElement, type XmppConnectionEvents, type XmppConnectionOptions, type XmppError, type XmppResult } from './xmppTypes.ts';
import { classifyStartError, createXmppEntity, type XmppEntity } from './xmppEntity.ts';
import { onMessage, onPresence, type InboundContext } from './inboundStanzas.ts';
import { mamPageOf, mamQueryIq } from './mamQuery.ts';

// The vocabulary lives in xmppTypes.ts, the xmpp.js setup in xmppEntity.ts, inbound stanza
// handling in inboundStanzas.ts, MAM stanzas in mamQuery.ts; importers keep importing from here.
export * from './xmppTypes.ts';

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

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
  private readonly inbound: InboundContext;

  constructor(private readonly options: XmppConnectionOptions) {
    super();
    this.bareJid = `${options.username}@${options.domain}`;
    this.time = options.time ?? createSystemTime();
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.announcePresence = options.announcePresence ?? true;
    this.idPrefix = `${options.username}-${options.resource ?? 'r'}-${(++idCounter).toString(36)}`;
    this.entity = createXmppEntity(options, this.requestTimeoutMs);
    this.inbound = { bareJid: this.bareJid, mamCollectors: this.mamCollectors, joinWaiters: this.joinWaiters, events: this };
    const sm = this.entity.streamManagement;

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

  /** XEP-0012 last activity of a contact's bare JID: seconds since it was online, 0 while it has a session (ejabberd's mod_last). */
  async lastActivity(jid: string): Promise<XmppResult<number>> {
    const answer = await this.iq(xml('iq', { type: 'get', to: jid, id: this.nextId() }, xml('query', { xmlns: NS.last })));
    if (!answer.ok) return answer;
    const seconds = Number(answer.value.getChild('query', NS.last)?.attrs.seconds);
    return Number.isFinite(seconds) ? { ok: true, value: seconds } : { ok: false, error: { code: 'iq_error', message: `no seconds in the last activity of ${jid}` } };
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
    const collected: ArchivedMessage[] = [];
    this.mamCollectors.set(queryId, { archive: (query.archive ?? this.bareJid).toLowerCase(), messages: collected });
    try {
      const answer = await this.iq(mamQueryIq(query, queryId, this.nextId()));
      return answer.ok ? { ok: true, value: mamPageOf(answer.value, collected) } : answer;
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
    if (stanza.is('message')) onMessage(this.inbound, stanza);
    else if (stanza.is('presence')) onPresence(this.inbound, stanza);
  }

}
