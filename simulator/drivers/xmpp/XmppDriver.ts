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
import { createSystemTime } from '../../../server/runtime/systemTime.ts';
import type { MetricsSink } from '../../metrics/MetricsSink.ts';
import type { ClientTransport } from '../../transport/ClientTransport.ts';
import type { DriverCapabilities } from '../DriverCapabilities.ts';
import type { DriverSession, PhoneDriver, PhoneEvent, PhoneIntent, RequestPaging, SessionHandlers, SyncChatPage, WireMessage } from '../PhoneDriver.ts';
import { ChatPositions, type PositionedMessage } from './ChatPositions.ts';
import { heldByArchiveId, MessageCarbons } from './carbons.ts';
import { ClientStateIndication, isLiveChatState } from './clientState.ts';
import { answerPresenceQuery } from './presenceQuery.ts';
import { MucChats, type RoomNames } from './MucChats.ts';
import { XmppConnection, type ArchivedMessage, type IncomingMessage } from './XmppConnection.ts';

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
interface XmppStream {
  connection: XmppConnection;
  key: string;
  csi: ClientStateIndication;
  carbons: MessageCarbons;
}

/** Close codes reported to the phone (WebSocket-style, as chatsim.v1's). */
const CLOSE_ABNORMAL = 1006;
const CLOSE_AUTH_FAILED = 4001;
const EPOCH = 'xmpp';
const UNLIMITED: RequestPaging = { chatsPage: (chats) => [...chats], usersPage: (users) => [...users] };

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

/** One link of the device's stream, as the phone sees it: from `open` to `onClose`. */
class XmppDriverSession implements DriverSession {
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
      if (type === 'groupchat' && this.inbound()) return this.muc.chatState(from, nick, state);
      if (this.inbound() && type === 'chat' && state === 'composing' && isLiveChatState(delayed, this.metrics)) this.emit({ kind: 'typing', chat: this.driver.directChat(this.driver.userOf(from)), user: this.driver.userOf(from) });
    });
    c.on('presence', ({ from, resource, available }) => {
      if (!this.inbound()) return;
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

  /**
   * From the presences heard since login; a contact not heard from yet (the login snapshot may
   * still be on its way: D5 saw a query answered 13 ms before it) is asked by XEP-0012: 0 seconds
   * since its last activity while it has a session, more once it has none (whole seconds: a
   * contact gone for under a second still reads online, as a debounced presence would).
   */
  private async presenceQuery(id: string, users: string[]): Promise<void> {
    const answers = await Promise.all(users.map(async (user) => {
      const resources = this.online.get(user);
      if (resources) return { user, online: resources.size > 0 };
      const last = await this.connection.lastActivity(`${user}@${this.driver.options.domain}`);
      return { user, online: (this.online.get(user)?.size ?? 0) > 0 || (last.ok && last.value === 0) };
    }));
    this.emit({ kind: 'presence-result', ref: id, users: answers });
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

  /** XEP-0333: one `displayed` marker for the newest message from the peer up to `upTo` (it covers the earlier ones). */
  private read(chat: string, upTo: number): void {
    const peer = this.driver.peerJid(chat);
    const after = this.readUpTo.get(chat) ?? 0;
    if (!peer || upTo <= after) return;
    this.readUpTo.set(chat, upTo);
    this.ack(chat, upTo); // read implies delivered
    const newest = this.positions.between(chat, after, upTo).filter((e) => !e.own).at(-1);
    if (newest) this.connection.sendMarker(peer, newest.stanzaId, 'displayed');
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

  /** The device an own message came from: this one if it sent it, else one the app does not know ('xmpp'). */
  private ownDevice(clientMsgId: string): string {
    return this.driver.sentHere.has(clientMsgId) ? this.driver.options.device : 'xmpp';
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

function bare(jid: string): string {
  return jid.split('/')[0]!.toLowerCase();
}

function localPart(jid: string): string {
  return bare(jid).split('@')[0]!;
}
