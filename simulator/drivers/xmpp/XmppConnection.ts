/**
 * One XMPP client connection (RFC 6120/6121) over TCP or over WebSocket on a chatsim link
 * (RFC 7395, linkSocket.ts), on xmpp.js (@xmpp/client): XEP-0198 (acks, resumption), 0184, 0333,
 * 0313 MAM with 0359 stanza ids, 0085, 0045 MUC, roster presence, 0280, 0352. The XMPP driver
 * wraps it; it decides nothing about when to acknowledge or mark read (the app model does).
 * Delivery: each message's client id is its stanza id and XEP-0359 origin-id; sends made while
 * the link is down wait in a local queue; stanzas written but not acknowledged when a link drops
 * are re-sent on resumption, and the server re-sends what this side had not acknowledged.
 * `acked`: the server acknowledged a stanza (XEP-0198 `<a h>`). Errors are values (XmppErrorCode).
 * xmpp.js keeps its own timers (acks, IQ timeouts), so this layer only runs live.
 */
import { EventEmitter } from 'node:events';
import { xml } from '@xmpp/client';
import type { Node as XmlNode } from '@xmpp/xml';
import type { TimeSource, TimerHandle } from '../../../server/ports/Clock.ts';
import { createSystemTime } from '../../../server/runtime/systemTime.ts';
import { NS, type ArchivedMessage, type ChatState, type MamPage, type MamQuery, type MarkerKind, type RosterItem, type XmlElement, type XmppConnectionEvents, type XmppConnectionOptions, type XmppError, type XmppResult } from './xmppTypes.ts';
import { carryStreamState, classifyStartError, createXmppEntity, type XmppEntity } from './xmppEntity.ts';
import { attachListeners, login } from './entityLink.ts';
import { onMessage, onPresence, type InboundContext } from './inboundStanzas.ts';
import { mamPageOf, mamQueryIq } from './mamQuery.ts';

// The vocabulary lives in xmppTypes.ts, the xmpp.js setup in xmppEntity.ts, inbound stanza
// handling in inboundStanzas.ts, MAM stanzas in mamQuery.ts; importers keep importing from here.
export * from './xmppTypes.ts';

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

let idCounter = 0;

export class XmppConnection extends EventEmitter<XmppConnectionEvents> {
  readonly bareJid: string;
  /** xmpp.js's client; a fresh one per start (renewEntity). */
  private entity: XmppEntity;
  private detach: () => void;
  /** start() ran before (the next one renews the entity). */
  private linkUsed = false;
  /** The current link resumed the stream (XEP-0198) rather than binding a new session. */
  private resumedLink = false;
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
  private readyWaiters: Array<() => void> = [];
  private stopped = false;
  private flushing = false;
  private readonly idPrefix: string;
  private readonly inbound: InboundContext;
  private features: XmlElement | undefined; // the newest stream features (RFC 6120 4.3)

  constructor(private readonly options: XmppConnectionOptions) {
    super();
    this.bareJid = `${options.username}@${options.domain}`;
    this.time = options.time ?? createSystemTime();
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.announcePresence = options.announcePresence ?? true;
    this.idPrefix = `${options.username}-${options.resource ?? 'r'}-${(++idCounter).toString(36)}`;
    this.entity = createXmppEntity(options, this.requestTimeoutMs);
    this.inbound = { bareJid: this.bareJid, mamCollectors: this.mamCollectors, joinWaiters: this.joinWaiters, events: this };
    this.detach = this.attach(this.entity);
  }

  /** Our listeners on one xmpp.js entity; answers how to take them off again. */
  private attach(entity: XmppEntity): () => void {
    const body = (stanza: XmlElement): boolean => stanza.name === 'message' && Boolean(stanza.getChild('body'));
    return attachListeners(entity, {
      error: (err) => this.emit('warning', err),
      online: () => this.onSession(),
      disconnect: (clean) => { if (!this.stopped) this.emit('disconnected', clean); },
      stanza: (stanza) => this.onStanza(stanza),
      nonza: (element) => {
        if (/(^|:)features$/.test(element.name)) this.features = element;
        if (element.is('enabled', NS.sm) || element.is('failed', NS.sm)) this.settleSession();
      },
      resumed: () => {
        this.resumedLink = true;
        this.emit('resumed');
        for (const resolve of this.readyWaiters.splice(0)) resolve();
        // xmpp.js sets the status back to online right after this event, in the same turn.
        void Promise.resolve().then(() => this.flush());
      },
      ack: (stanza) => { if (body(stanza)) this.emit('acked', { id: stanza.attrs.id ?? '', to: stanza.attrs.to ?? '' }); },
      fail: (stanza) => { if (body(stanza)) this.emit('sendFailed', { id: stanza.attrs.id ?? '', to: stanza.attrs.to ?? '' }); },
    });
  }

  /** The last link's entity is let go (a late socket error is not thrown); a fresh one takes its XEP-0198 state. */
  private renewEntity(): void {
    const old = this.entity;
    this.detach();
    old.on('error', () => {});
    old.socket?.destroy();
    this.awaitingSm = false;
    this.smSettleTimer?.cancel();
    this.smSettleTimer = undefined;
    this.entity = createXmppEntity(this.options, this.requestTimeoutMs);
    carryStreamState(old, this.entity);
    this.detach = this.attach(this.entity);
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

  /**
   * Connect, authenticate (SASL), then resume the stream (XEP-0198) that an earlier link left,
   * else bind a new session and enable stream management (entityLink.ts `login`). With
   * autoReconnect false, call it again after `disconnected`: each call is one link.
   */
  async start(): Promise<XmppResult<{ jid: string; resumed: boolean }>> {
    this.stopped = false;
    if (this.linkUsed) this.renewEntity(); // a fresh entity: the last one may still be closing its link (a failed login's stop)
    this.linkUsed = true;
    this.resumedLink = false;
    const entity = this.entity;
    // Only a stream with an SM id can be resumed: wait past 'online' for <enabled/> (or <failed/>), or <resumed/>.
    let readyResolve: (() => void) | undefined;
    const ready = new Promise<void>((resolve) => { readyResolve = resolve; this.readyWaiters.push(resolve); });
    const outcome = await login(entity, this.options.service, this.options.domain, ready, this.time, this.requestTimeoutMs);
    if (outcome === 'online') return { ok: true, value: { jid: this.jid ?? this.bareJid, resumed: this.resumedLink } };
    this.abandonAttempt(entity, readyResolve);
    if (outcome === 'dropped') return { ok: false, error: { code: 'unreachable', message: 'the link dropped during login' } };
    if (outcome === 'timeout') return { ok: false, error: { code: 'timeout', message: `no session within ${this.requestTimeoutMs} ms` } };
    return { ok: false, error: classifyStartError(outcome.error) };
  }

  /** A login that failed: its link is dropped; with autoReconnect false the XEP-0198 state stays for the next `start`. */
  private abandonAttempt(entity: XmppEntity, readyResolve: (() => void) | undefined): void {
    this.readyWaiters = this.readyWaiters.filter((r) => r !== readyResolve);
    if (this.options.autoReconnect === false) {
      entity.socket?.destroy();
      return;
    }
    entity.reconnect.stop();
    void entity.stop().catch(() => {});
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

  /** Cut the link without closing the stream (a phone losing its network): the next link resumes it. */
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

  /** Whether the newest stream features offer `name` in `xmlns` (XEP-0352: `csi`); XEP-0030 features of the server (XEP-0280). */
  offersStreamFeature(name: string, xmlns: string): boolean { return this.features?.getChild(name, xmlns) !== undefined; }
  async serverFeatures(): Promise<XmppResult<string[]>> {
    const answer = await this.iq(xml('iq', { type: 'get', to: this.options.domain, id: this.nextId() }, xml('query', { xmlns: NS.discoInfo })));
    return answer.ok ? { ok: true, value: (answer.value.getChild('query', NS.discoInfo)?.getChildren('feature') ?? []).map((f) => f.attrs.var ?? '') } : answer;
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

  async iq(element: unknown): Promise<XmppResult<XmlElement>> {
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
