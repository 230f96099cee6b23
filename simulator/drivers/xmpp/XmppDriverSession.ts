// One link of an XMPP device's stream as the phone sees it (XmppDriver opens one per `open`).
import type { TimeSource } from '../../../server/ports/Clock.ts';
import { createSystemTime } from '../../../server/runtime/systemTime.ts';
import type { MetricsSink } from '../../metrics/MetricsSink.ts';
import type { DriverSession, PhoneEvent, PhoneIntent, RequestPaging, SessionHandlers, SyncChatPage, WireMessage } from '../PhoneDriver.ts';
import type { ChatPositions, PositionedMessage } from './ChatPositions.ts';
import { heldByArchiveId, type MessageCarbons } from './carbons.ts';
import { isLiveChatState, type ClientStateIndication } from './clientState.ts';
import { answerPresenceQuery } from './presenceQuery.ts';
import { MucChats } from './MucChats.ts';
import type { ArchivedMessage, IncomingMessage, XmppConnection } from './XmppConnection.ts';
import { bare } from './jids.ts';
import type { XmppDriver } from './XmppDriver.ts';

/** Close codes reported to the phone (WebSocket-style, as chatsim.v1's). */
const CLOSE_ABNORMAL = 1006;
const CLOSE_AUTH_FAILED = 4001;
const EPOCH = 'xmpp';
const UNLIMITED: RequestPaging = { chatsPage: (chats) => [...chats], usersPage: (users) => [...users] };

/** One link of the device's stream, as the phone sees it: from `open` to `onClose`. */
export class XmppDriverSession implements DriverSession {
  private readonly connection: XmppConnection;
  private readonly positions: ChatPositions;
  private ended = false;
  /** Highest position acknowledged / read per chat on this device (receipts go out once). */
  private readonly ackedUpTo = new Map<string, number>();
  private readonly readUpTo = new Map<string, number>();
  private readonly earlyReceipts: XmppDriver['earlyReceipts'];
  private readonly online: XmppDriver['online'];
  private readonly pendingBodies: XmppDriver['pendingBodies'];
  private readonly time: TimeSource;
  /** This session's listeners on the (longer-lived) connection. */
  private readonly listeners: Array<() => void> = [];
  private readonly csi: ClientStateIndication;
  private readonly carbons: MessageCarbons;
  private readonly muc: MucChats;

  constructor(private readonly driver: XmppDriver, endpoint: string, password: string, private readonly metrics: MetricsSink, private readonly handlers: SessionHandlers) {
    this.positions = driver.positions;
    this.earlyReceipts = driver.earlyReceipts;
    this.online = driver.online;
    this.pendingBodies = driver.pendingBodies;
    this.time = driver.options.time ?? createSystemTime();
    // The connection, and its client state and carbons, outlive this session (one per stream).
    ({ connection: this.connection, csi: this.csi, carbons: this.carbons } = driver.connectionFor(endpoint, password, metrics));
    const o = driver.options;
    this.muc = new MucChats({
      user: o.user, device: o.device, connection: this.connection, positions: this.positions, time: this.time, names: driver, knownRooms: driver.knownRooms, sentHere: driver.sentHere,
      emit: (event) => this.emit(event), ended: () => this.ended,
    });
    this.listen();
    void this.start();
  }

  send(intent: PhoneIntent): void {
    if (this.ended || !this.connection.online) return;
    this.metrics.increment(`xmpp.out.${intent.kind}`);
    switch (intent.kind) {
      case 'send': return this.sendMessage(intent.chat, intent.clientMsgId, intent.body);
      case 'ack': return this.ack(intent.chat, intent.upTo);
      case 'read': return this.read(intent.chat, intent.upTo);
      case 'typing': return this.typing(intent.chat, intent.readUpTo);
      case 'presence-query': return void answerPresenceQuery(this.connection, (user) => this.driver.jidOf(user), intent.users, this.online).then((users) => this.emit({ kind: 'presence-result', ref: intent.id, users }));
      case 'app-state': return this.csi.set(intent.foreground);
      case 'ping': return void this.connection.ping().then((r) => { if (r.ok) this.inbound(); });
      case 'sync':
        if (intent.mode === 'token') return this.emit({ kind: 'refused', code: 'UNSUPPORTED', ref: intent.id, retryable: false, positionsGone: false });
        return void this.sync(intent.id, intent.positions);
    }
  }

  close(code: number, reason: string): void {
    this.end({ code, reason, retryable: code !== 1000, goingAway: false });
  }

  /** The phone gives up on the link (heartbeat, connect timeout): dropped without closing the stream, which the next open resumes. */
  abort(): void {
    this.connection.dropLink();
    this.end({ code: CLOSE_ABNORMAL, reason: 'aborted', retryable: true, goingAway: false }, false);
  }

  private async start(): Promise<void> {
    const started = await this.connection.start();
    // Ended meanwhile (aborted): the link is dropped, the stream kept for the next open.
    if (this.ended) return;
    if (!started.ok) {
      const auth = started.error.code === 'auth_failed';
      return this.end({ code: auth ? CLOSE_AUTH_FAILED : CLOSE_ABNORMAL, reason: `${started.error.code}: ${started.error.message}`, retryable: !auth, goingAway: false }, auth);
    }
    this.metrics.increment(started.value.resumed ? 'xmpp.resumed' : 'xmpp.sessions');
    // Carbons before the app's session (and its first sync): a sibling's message sent in between is then copied live.
    await this.carbons.ready();
    if (this.ended) return;
    this.handlers.onOpen();
    this.emit({ kind: 'session', heartbeatIntervalMs: this.driver.options.heartbeatIntervalMs ?? 30_000, paging: UNLIMITED });
    this.muc.joinKnown();
  }

  /**
   * Exactly once. `final` (the phone closed, or the login was refused): the stream is closed and
   * forgotten. Otherwise (the link dropped, or the phone aborted it) the connection is kept with
   * its XEP-0198 state: the phone reconnects through `open`, never xmpp.js on its own.
   */
  private end(close: { code: number; reason: string; retryable: boolean; goingAway: boolean }, final = true): void {
    if (this.ended) return;
    this.ended = true;
    for (const off of this.listeners.splice(0)) off();
    if (final) this.driver.forget(this.connection);
    this.handlers.onClose(close);
  }

  /** The link is alive; false when the phone no longer listens to this session. */
  private inbound(): boolean {
    return !this.ended && this.handlers.onInbound();
  }

  private emit(event: PhoneEvent): void {
    if (!this.ended) this.handlers.onEvent(event);
  }

  private listen(): void {
    const c = sessionEvents(this.connection, this.listeners);
    c.on('warning', () => this.metrics.increment('xmpp.warnings'));
    c.on('disconnected', () => this.end({ code: CLOSE_ABNORMAL, reason: 'link lost', retryable: true, goingAway: false }, false));
    // A new session (not a resumed one): the server sends every contact's presence again.
    c.on('online', () => this.online.clear());
    // Never acknowledged and not re-sent (a resumption refused): the phone's next repeat sends it again.
    c.on('sendFailed', ({ id }) => this.pendingBodies.delete(id));
    // A group message is stored when the room reflects it (MucChats), not at the XEP-0198 ack.
    c.on('acked', ({ id, to }) => { if (this.inbound() && !this.driver.groupChatOf(to)) this.stored(id, to); });
    c.on('message', (m) => { if (this.inbound()) return m.type === 'groupchat' ? this.muc.incoming(m) : this.incoming(m); });
    c.on('messageError', ({ from, id }) => this.muc.refused(from, id));
    c.on('receipt', ({ from, id }) => { if (this.inbound()) this.receiptFor(from, id, 'delivered'); });
    c.on('marker', ({ from, id, kind, type }) => {
      if (this.inbound() && type === 'chat' && kind !== 'acknowledged') this.receiptFor(from, id, kind === 'displayed' ? 'read' : 'delivered');
    });
    c.on('chatState', ({ from, state, type, delayed, nick }) => {
      // A stamped chat state (held by the server, e.g. for a client that was inactive) is the past, in rooms too.
      if (type === 'groupchat' && this.inbound()) return isLiveChatState(delayed, this.metrics) ? this.muc.chatState(from, nick, state) : undefined;
      if (this.inbound() && type === 'chat' && state === 'composing' && isLiveChatState(delayed, this.metrics)) this.emit({ kind: 'typing', chat: this.driver.directChat(this.driver.userOf(from)), user: this.driver.userOf(from) });
    });
    c.on('presence', ({ from, resource, available }) => {
      // A room's presences are its occupants' (MucChats); one that reached here is no contact's (A10: a room shown as a user).
      if (!this.inbound() || this.driver.groupChatOf(from)) return;
      const user = this.driver.userOf(from);
      const resources = this.online.get(user) ?? new Set<string>();
      const wasOnline = resources.size > 0;
      if (available) resources.add(resource ?? '');
      else if (resource === undefined) resources.clear(); // from the bare JID: every resource
      else resources.delete(resource);
      this.online.set(user, resources);
      const isOnline = resources.size > 0;
      // One device going away while another stays is not the user going offline.
      if (isOnline !== wasOnline || available) this.emit({ kind: 'presence', user, online: isOnline });
    });
  }

  private sendMessage(chat: string, clientMsgId: string, body: string): void {
    if (this.driver.roomJid(chat)) return this.muc.send(chat, clientMsgId, body);
    const peer = this.driver.peerJid(chat);
    if (peer) this.driver.sentHere.add(clientMsgId);
    if (!peer) return this.emit({ kind: 'refused', code: 'UNSUPPORTED_CHAT', ref: clientMsgId, retryable: false, positionsGone: false });
    const known = this.positions.get(chat, clientMsgId);
    // Already stored (numbered when acknowledged or seen in the archive): answer as a server that deduplicates would.
    if (known) return this.emit({ kind: 'stored', clientMsgId, chat, seq: known.message.seq, msgId: known.message.msgId });
    // Still on its way in this stream (queued, or sent and re-sent on resumption): its ack will come.
    if (this.pendingBodies.has(clientMsgId)) return;
    this.connection.sendChat(peer, body, { id: clientMsgId });
    this.pendingBodies.set(clientMsgId, body);
  }

  /** The server has our message: it takes the next position of its chat. */
  private stored(id: string, to: string): void {
    const chat = this.driver.directChat(this.driver.userOf(to));
    const body = this.pendingBodies.get(id) ?? '';
    this.pendingBodies.delete(id);
    const { entry } = this.positions.place(chat, id, (seq) => ({ stanzaId: id, own: true, message: this.ownMessage(chat, seq, id, body) }));
    this.emit({ kind: 'stored', clientMsgId: id, chat, seq: entry.message.seq, msgId: entry.message.msgId });
    for (const early of this.earlyReceipts.get(id) ?? []) this.emit({ kind: 'receipt', receipt: { ...early, upTo: entry.message.seq } });
    this.earlyReceipts.delete(id);
  }

  private ownMessage(chat: string, seq: number, clientMsgId: string, body: string): WireMessage {
    const { user, device } = this.driver.options;
    return { chat, seq, msgId: clientMsgId, from: user, fromDevice: device, clientMsgId, body, ts: this.time.nowMs() };
  }

  private incoming(m: IncomingMessage): void {
    if (m.type !== 'chat') return; // groupchat: not mapped (see docs/drivers.md)
    const peer = this.driver.userOf(m.from);
    const chat = this.driver.directChat(peer);
    const key = m.originId ?? (m.id || m.stanzaId || '');
    // XEP-0280 copies are deduplicated against MAM pages by origin-id (the key) and by our archive's stanza-id.
    if (m.carbon && m.stanzaId && !this.positions.get(chat, key) && heldByArchiveId(this.positions, chat, m.stanzaId)) return;
    const own = m.carbonSent === true;
    const { user } = this.driver.options;
    // A sent carbon is this user's message from another device (its resource): the app shows it as chatsim.v1 shows a sibling's push.
    const ownDevice = m.ownResource ?? 'xmpp';
    const { entry, isNew } = this.positions.place(chat, key, (seq) => ({
      stanzaId: m.id || key, own, ...(m.stanzaId ? { archiveId: m.stanzaId } : {}),
      message: { chat, seq, msgId: m.stanzaId ?? key, from: own ? user : peer, fromDevice: own ? ownDevice : 'xmpp', clientMsgId: key, body: m.body, ts: m.delayedMs ?? this.time.nowMs() },
    }));
    if (m.stanzaId) this.positions.noteArchiveId(chat, key, m.stanzaId);
    if (isNew) this.emit({ kind: 'message', message: entry.message });
  }

  /** A receipt or marker naming one of our messages: cumulative up to its position. */
  private receiptFor(from: string, id: string, kind: 'delivered' | 'read'): void {
    const user = this.driver.userOf(from);
    const chat = this.driver.directChat(user);
    const seq = this.positions.seqOfStanzaId(chat, id);
    if (seq !== undefined) return this.emit({ kind: 'receipt', receipt: { chat, user, kind, upTo: seq } });
    const early = this.earlyReceipts.get(id) ?? [];
    early.push({ chat, user, kind });
    this.earlyReceipts.set(id, early);
  }

  /** XEP-0184: one receipt per message from the peer not yet acknowledged, up to `upTo`. */
  private ack(chat: string, upTo: number): void {
    const peer = this.driver.peerJid(chat);
    const after = this.ackedUpTo.get(chat) ?? 0;
    if (!peer || upTo <= after) return;
    this.ackedUpTo.set(chat, upTo);
    for (const entry of this.positions.between(chat, after, upTo)) if (!entry.own) this.connection.sendReceipt(peer, entry.stanzaId);
  }

  /**
   * XEP-0333: a `displayed` marker for each message from the peer up to `upTo` not marked yet. One
   * marker for the newest would cover the earlier ones by the XEP, but "earlier" is each device's
   * own order: a peer whose two devices sent messages learns them in another order than this
   * device did (xmpp-flaky-mobile, B5: u269/d1 read up to u33/d2's message, which u33/d1 placed
   * before its own, so its own never turned read). Marking each message is unambiguous.
   */
  private read(chat: string, upTo: number): void {
    const peer = this.driver.peerJid(chat);
    const after = this.readUpTo.get(chat) ?? 0;
    if (!peer || upTo <= after) return;
    this.readUpTo.set(chat, upTo);
    this.ack(chat, upTo); // read implies delivered
    for (const entry of this.positions.between(chat, after, upTo)) if (!entry.own) this.connection.sendMarker(peer, entry.stanzaId, 'displayed');
  }

  private typing(chat: string, readUpTo: number | undefined): void {
    if (this.driver.roomJid(chat)) return this.muc.typing(chat); // no read markers in groups
    const peer = this.driver.peerJid(chat);
    if (!peer) return;
    if (readUpTo !== undefined) this.read(chat, readUpTo);
    this.connection.sendChatState(peer, 'composing');
  }

  /** Per chat, everything after the position held: MAM after the archive id at that position. */
  private async sync(id: string, positions: Record<string, number>): Promise<void> {
    const chats: SyncChatPage[] = [];
    for (const [chat, position] of Object.entries(positions)) {
      if (this.driver.roomJid(chat)) {
        const group = await this.muc.sync(chat, position);
        if (this.ended) return;
        if (!group.ok) return this.emit({ kind: 'refused', code: group.code, ref: id, retryable: true, positionsGone: false });
        chats.push(group.page);
        continue;
      }
      const peer = this.driver.peerJid(chat);
      if (!peer) continue;
      const afterId = this.positions.archiveIdAtOrBelow(chat, position);
      const page = await this.connection.mamFetchAll(afterId === undefined ? { with: peer } : { with: peer, afterId });
      if (this.ended) return;
      if (!page.ok) return this.emit({ kind: 'refused', code: `MAM_${page.error.code.toUpperCase()}`, ref: id, retryable: true, positionsGone: false });
      for (const archived of page.value) this.placeArchived(chat, peer, archived);
      const head = this.positions.head(chat);
      chats.push({ chat, messages: this.positions.between(chat, position, head).map((e: PositionedMessage) => e.message), head, hasMore: false, receipts: [] });
    }
    if (this.inbound()) this.emit({ kind: 'sync-page', ref: id, epoch: EPOCH, hasMore: false, chats, entries: [] });
  }

  private placeArchived(chat: string, peer: string, archived: ArchivedMessage): void {
    if (!archived.body) return;
    const own = bare(archived.from) !== peer.toLowerCase();
    const key = archived.originId ?? archived.id ?? archived.archiveId;
    const { user, device } = this.driver.options;
    // An own message in the archive names the device that sent it (the resource of its from).
    const ownDevice = archived.from.includes('/') ? archived.from.slice(archived.from.indexOf('/') + 1) : device;
    this.positions.place(chat, key, (seq) => ({
      stanzaId: archived.id ?? key, own, archiveId: archived.archiveId,
      message: { chat, seq, msgId: archived.archiveId, from: own ? user : this.driver.userOf(archived.from), fromDevice: own ? ownDevice : 'xmpp', clientMsgId: key, body: archived.body, ts: archived.stampMs ?? 0 },
    }));
    this.positions.noteArchiveId(chat, key, archived.archiveId);
  }
}

/** `on` for one session: each listener is also recorded in `offs`, to be taken off when the session ends. */
function sessionEvents(connection: XmppConnection, offs: Array<() => void>): Pick<XmppConnection, 'on'> {
  return {
    on(event, listener) {
      connection.on(event, listener);
      offs.push(() => connection.off(event, listener));
      return connection;
    },
  };
}
