import type { Broker } from '../ports/Broker.ts';
import type { Clock } from '../ports/Clock.ts';
import type { ChatRecord, Directory } from '../ports/Directory.ts';
import type { InboundQueue, QueueConsumer, QueueEntry } from '../ports/InboundQueue.ts';
import type { CursorKind, MessageStore, StoredMessage } from '../ports/MessageStore.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { InboundEnvelope } from '../protocol/envelopes.ts';
import { ERROR_CODES, type ErrorCode } from '../protocol/errorCodes.ts';
import type {
  AckFrame, MessageFrame, PresenceQueryFrame, ReadFrame, ReceiptFrame, SendFrame, SentFrame, SyncChatResult,
  SyncFrame, TypingFrame,
} from '../protocol/frames.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import { cursorFloor, aggregateFor, effectiveCursor, tickChanges, type MemberCursor } from './groupTicks.ts';
import { Router } from './Router.ts';
import { decodeSyncToken, encodeSyncToken } from './syncTokens.ts';
import { validateFrame } from './validateFrame.ts';

export interface ChatServerDeps {
  id: string;
  clock: Clock;
  queue: InboundQueue;
  broker: Broker;
  store: MessageStore;
  directory: Directory;
  presence: PresenceStore;
  limits: ServerLimits;
}

export interface ChatServerStats {
  framesHandled: number;
  errorsByCode: Map<string, number>;
}

/** Raised for a frame the server must refuse; turned into an `error` frame at the edge. */
class FrameRejected extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly ref?: string) {
    super(message);
  }
}

/**
 * The stateless brain. Takes client frames from the inbound queue, validates them, checks
 * membership, writes to the store, and routes results through the broker. Holds no state a
 * restart could lose: every answer is derived from the store, so a redelivered frame
 * produces the same outcome (idempotent processing under at-least-once delivery).
 */
export class ChatServer {
  readonly stats: ChatServerStats = { framesHandled: 0, errorsByCode: new Map() };
  private consumer: QueueConsumer | undefined;
  private readonly router: Router;
  private msgIdCounter = 0;

  constructor(private readonly deps: ChatServerDeps) {
    this.router = new Router(deps.presence, deps.broker);
  }

  get id(): string {
    return this.deps.id;
  }

  start(): void {
    if (this.consumer) return;
    this.consumer = this.deps.queue.consume(this.deps.id, (entry) => this.handleEntry(entry));
  }

  /** Graceful: finishes frames under way. With `crash`, abandons them to be redelivered. */
  async stop(options: { crash?: boolean } = {}): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.stop({ abandonInFlight: options.crash ?? false });
  }

  /** Handles one queue entry; resolves when done (the queue then acknowledges it). */
  async handleEntry(entry: QueueEntry): Promise<void> {
    let envelope: InboundEnvelope;
    try {
      envelope = JSON.parse(entry.payload) as InboundEnvelope;
    } catch {
      return; // A broken envelope is a gateway bug; acknowledging it keeps the lane moving.
    }
    this.stats.framesHandled++;
    try {
      await this.handleFrame(envelope, entry.redeliveries > 0);
    } catch (error) {
      if (!(error instanceof FrameRejected)) throw error; // Store or broker trouble: let the queue redeliver.
      this.count(error.code);
      const frame: Record<string, unknown> = { type: 'error', code: error.code, message: error.message };
      if (error.ref !== undefined) frame.ref = error.ref;
      await this.router.toConnection(envelope.gw, envelope.conn, JSON.stringify(frame));
    }
  }

  private async handleFrame(env: InboundEnvelope, redelivered: boolean): Promise<void> {
    const validation = validateFrame(env.frame, this.deps.limits);
    if (!validation.ok) throw new FrameRejected(validation.code, validation.message, validation.ref);
    const frame = validation.frame;
    switch (frame.type) {
      case 'send': return this.onSend(env, frame);
      case 'ack': return this.onCursor(env, frame, 'delivered', redelivered);
      case 'read': return this.onCursor(env, frame, 'read', redelivered);
      case 'typing': return this.onTyping(env, frame, redelivered);
      case 'sync': return frame.token !== undefined ? this.onTokenSync(env, frame) : this.onWatermarkSync(env, frame);
      case 'presence_query': return this.onPresenceQuery(env, frame);
      case 'ping': return this.reply(env, { type: 'pong' });
    }
  }

  // ---- send ----

  private async onSend(env: InboundEnvelope, frame: SendFrame): Promise<void> {
    const chat = await this.memberChat(env.user, frame.chat, frame.clientMsgId);
    const nowMs = this.deps.clock.nowMs();
    const { message, created } = await this.deps.store.append({
      chatId: chat.id, senderId: env.user, senderDeviceId: env.device, clientMsgId: frame.clientMsgId,
      body: frame.body, msgId: this.nextMsgId(nowMs), sentAtMs: nowMs,
    });
    if (!created && message.body !== frame.body) {
      throw new FrameRejected('CLIENT_MSG_ID_REUSED', ERROR_CODES.CLIENT_MSG_ID_REUSED.text, frame.clientMsgId);
    }
    // A repeat (client retry, or queue redelivery after a crash) redoes every step after the
    // write: each is idempotent, and a crash may have cut any of them short the first time.
    await this.recordInboxes(chat, message);
    const sent: SentFrame = { type: 'sent', ref: frame.clientMsgId, chat: chat.id, seq: message.seq, msgId: message.msgId, ts: message.sentAtMs };
    await this.reply(env, sent);
    await this.router.toUsers([...chat.members.keys()], JSON.stringify(toMessageFrame(message)), env.conn);
  }

  private async recordInboxes(chat: ChatRecord, message: StoredMessage): Promise<void> {
    const key = `m:${chat.id}:${message.seq}`;
    await Promise.all([...chat.members.keys()].map((user) => this.deps.store.appendInbox(user, key, { kind: 'message', message })));
  }

  /** Time-ordered, unique across chat servers: ms timestamp, server id, per-server counter. */
  private nextMsgId(nowMs: number): string {
    this.msgIdCounter = (this.msgIdCounter + 1) % 1_000_000;
    return `${nowMs.toString(36).padStart(9, '0')}-${this.deps.id}-${this.msgIdCounter.toString(36).padStart(4, '0')}`;
  }

  // ---- delivery and read cursors ----

  private async onCursor(env: InboundEnvelope, frame: AckFrame | ReadFrame, kind: CursorKind, redelivered: boolean): Promise<void> {
    const chat = await this.memberChat(env.user, frame.chat);
    await this.advance(chat, env.user, kind, frame.upTo, redelivered);
  }

  /** Moves a reader's cursor and tells every sender whose aggregate tick moved. Read implies delivered. */
  private async advance(chat: ChatRecord, reader: string, kind: CursorKind, upTo: number, redelivered: boolean): Promise<void> {
    const head = await this.deps.store.headSeq(chat.id);
    if (upTo > head) throw new FrameRejected('CURSOR_AHEAD', `upTo ${upTo} is past the chat head ${head}`);
    const kinds: CursorKind[] = kind === 'read' ? ['delivered', 'read'] : ['delivered'];
    for (const k of kinds) {
      const moved = await this.deps.store.advanceCursor(chat.id, reader, k, upTo);
      if (moved.after > moved.before || redelivered) await this.announceTicks(chat, reader, k, moved.before, moved.after);
    }
  }

  private async announceTicks(chat: ChatRecord, reader: string, kind: CursorKind, before: number, after: number): Promise<void> {
    const [cursors, lastSeqBySender] = await Promise.all([this.deps.store.getCursors(chat.id), this.deps.store.lastSeqBySender(chat.id)]);
    const afterCursors = memberCursors(chat, cursors, kind);
    // A redelivered frame finds before === after yet must still announce: a crash may have
    // come between the cursor write and the receipts. Receipts are cumulative, so a repeat
    // is harmless; recompute as if the reader had been at `after` - 1.
    const assumedBefore = before < after ? before : Math.max(0, after - 1);
    const beforeCursors = afterCursors.map((m) => (m.user === reader ? { user: reader, cursor: effectiveCursor(assumedBefore, chat.members.get(reader) ?? 0) } : m));
    const changes = tickChanges(beforeCursors, afterCursors, lastSeqBySender);
    const readerName = chat.kind === 'direct' ? reader : '*';
    await Promise.all(changes.map(async ({ sender, upTo }) => {
      const receipt: ReceiptFrame = { type: 'receipt', chat: chat.id, user: readerName, kind, upTo };
      await this.deps.store.appendInbox(sender, `r:${chat.id}:${kind}:${upTo}`, { kind: 'receipt', chatId: chat.id, userId: readerName, cursor: kind, upTo });
      await this.router.toUsers([sender], JSON.stringify(receipt));
    }));
  }

  // ---- typing ----

  private async onTyping(env: InboundEnvelope, frame: TypingFrame, redelivered: boolean): Promise<void> {
    const chat = await this.memberChat(env.user, frame.chat);
    // A piggybacked read receipt has exactly the effect of a standalone one.
    if (frame.read !== undefined) await this.advance(chat, env.user, 'read', frame.read, redelivered);
    const others = [...chat.members.keys()].filter((u) => u !== env.user);
    await this.router.toUsers(others, JSON.stringify({ type: 'typing', chat: chat.id, user: env.user }));
  }

  // ---- sync ----

  private async onWatermarkSync(env: InboundEnvelope, frame: SyncFrame): Promise<void> {
    this.checkEpoch(frame.epoch, frame.id);
    const given = frame.chats ?? {};
    const memberOf = await this.deps.directory.chatsOf(env.user);
    // Chats the client did not list start from 0, so a new chat is never missed.
    const wanted = new Map<string, number>(memberOf.map((c) => [c, given[c] ?? 0]));
    let budget = this.deps.limits.syncMessagesMax;
    const results: SyncChatResult[] = [];
    for (const [chatId, afterSeq] of wanted) {
      const page = await this.deps.store.readChat(chatId, afterSeq, Math.max(0, budget));
      budget -= page.messages.length;
      const chat = await this.deps.directory.getChat(chatId);
      const receipts = chat ? await this.currentTicks(chat, env.user) : [];
      results.push({ chat: chatId, messages: page.messages.map(toMessageFrame), head: page.headSeq, hasMore: page.hasMore, receipts });
    }
    await this.reply(env, { type: 'sync_result', ref: frame.id, epoch: this.deps.store.epoch, hasMore: results.some((r) => r.hasMore), chats: results });
  }

  /** The aggregate ticks a user sees on their own messages in a chat, for converging after a reconnect. */
  private async currentTicks(chat: ChatRecord, user: string): Promise<ReceiptFrame[]> {
    const cursors = await this.deps.store.getCursors(chat.id);
    const readerName = chat.kind === 'direct' ? [...chat.members.keys()].find((u) => u !== user) ?? '*' : '*';
    const receipts: ReceiptFrame[] = [];
    for (const kind of ['delivered', 'read'] as const) {
      const upTo = aggregateFor(cursorFloor(memberCursors(chat, cursors, kind)), user);
      if (Number.isFinite(upTo) && upTo > 0) receipts.push({ type: 'receipt', chat: chat.id, user: readerName, kind, upTo });
    }
    return receipts;
  }

  private async onTokenSync(env: InboundEnvelope, frame: SyncFrame): Promise<void> {
    // An empty token asks for the whole inbox of the current epoch: how a client gets its first token.
    const decoded = frame.token === '' ? { epoch: this.deps.store.epoch, position: 0 } : decodeSyncToken(frame.token ?? '');
    if (!decoded) throw new FrameRejected('INVALID_FIELD', 'token: not a sync token', frame.id);
    this.checkEpoch(decoded.epoch, frame.id);
    const page = await this.deps.store.readInbox(env.user, decoded.position, this.deps.limits.syncEventsMax);
    const last = page.events.length > 0 ? page.events[page.events.length - 1]!.position : decoded.position;
    await this.reply(env, {
      type: 'sync_result', ref: frame.id, epoch: this.deps.store.epoch, hasMore: page.hasMore,
      events: page.events, token: encodeSyncToken(this.deps.store.epoch, last),
    });
  }

  private checkEpoch(epoch: string | undefined, ref: string): void {
    if (epoch !== undefined && epoch !== this.deps.store.epoch) throw new FrameRejected('SYNC_RESET', ERROR_CODES.SYNC_RESET.text, ref);
  }

  // ---- presence ----

  private async onPresenceQuery(env: InboundEnvelope, frame: PresenceQueryFrame): Promise<void> {
    // Only friends' presence is visible (no leakage); others are left out of the answer.
    const friends = new Set(await this.deps.directory.friendsOf(env.user));
    const visible = frame.users.filter((u) => friends.has(u));
    const presence = await this.deps.presence.getMany(visible);
    const nowMs = this.deps.clock.nowMs();
    const users = visible.map((user) => {
      const p = presence.get(user);
      const last = p?.lastDisconnectAtMs;
      // Within the debounce window a user still shows online, exactly as the broadcasts do.
      const online = (p?.entries.length ?? 0) > 0 || (last !== undefined && nowMs - last < this.deps.limits.presenceDebounceMs);
      return online || last === undefined ? { user, online } : { user, online, lastSeenMs: last };
    });
    await this.reply(env, { type: 'presence_result', ref: frame.id, users });
  }

  // ---- helpers ----

  private async memberChat(user: string, chatId: string, ref?: string): Promise<ChatRecord> {
    const chat = await this.deps.directory.getChat(chatId);
    if (!chat || !chat.members.has(user)) throw new FrameRejected('NOT_MEMBER', ERROR_CODES.NOT_MEMBER.text, ref);
    return chat;
  }

  private async reply(env: InboundEnvelope, frame: object): Promise<void> {
    await this.router.toConnection(env.gw, env.conn, JSON.stringify(frame));
  }

  private count(code: string): void {
    this.stats.errorsByCode.set(code, (this.stats.errorsByCode.get(code) ?? 0) + 1);
  }
}

function memberCursors(chat: ChatRecord, cursors: Map<string, { delivered: number; read: number }>, kind: CursorKind): MemberCursor[] {
  return [...chat.members].map(([user, joinedAtSeq]) => ({ user, cursor: effectiveCursor(cursors.get(user)?.[kind], joinedAtSeq) }));
}

export function toMessageFrame(m: StoredMessage): MessageFrame {
  return { type: 'message', chat: m.chatId, seq: m.seq, msgId: m.msgId, from: m.senderId, fromDevice: m.senderDeviceId, clientMsgId: m.clientMsgId, body: m.body, ts: m.sentAtMs };
}
