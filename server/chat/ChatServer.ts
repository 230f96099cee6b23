import type { Broker } from '../ports/Broker.ts';
import type { Clock } from '../ports/Clock.ts';
import type { ChatRecord, Directory } from '../ports/Directory.ts';
import type { DeadLetter, InboundQueue, QueueConsumer, QueueEntry } from '../ports/InboundQueue.ts';
import type { Log } from '../ports/Log.ts';
import { NO_METRICS, type Metrics } from '../ports/Metrics.ts';
import { chatServerInstruments, frameTypeLabel, type ChatServerInstruments } from '../metrics/instruments.ts';
import type { AppendInput, CursorKind, MessageStore, StoredMessage } from '../ports/MessageStore.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { InboundEnvelope } from '../protocol/envelopes.ts';
import { ERROR_CODES } from '../protocol/errorCodes.ts';
import type { AckFrame, ErrorFrame, ReadFrame, ReceiptFrame, SendFrame, SentFrame, TypingFrame } from '../protocol/frames.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import { parseJsonBounded } from '../protocol/boundedJson.ts';
import { createStderrLog } from '../runtime/stderrLog.ts';
import { Coalescer } from './Coalescer.ts';
import { InboxMaterializer } from './InboxMaterializer.ts';
import { memberCursors, otherMember } from './chatTicks.ts';
import { cursorFloor, aggregateFor } from './groupTicks.ts';
import { Router, type ChatRouter } from './Router.ts';
import { validateFrame } from './validateFrame.ts';
import { FrameRejected } from './FrameRejected.ts';
import { PresenceQueries } from './PresenceQueries.ts';
import { SyncHandler } from './SyncHandler.ts';
import { toMessageFrame } from './toMessageFrame.ts';

export interface ChatServerDeps {
  id: string;
  clock: Clock;
  queue: InboundQueue;
  broker: Broker;
  store: MessageStore;
  directory: Directory;
  presence: PresenceStore;
  limits: ServerLimits;
  /** Where replies, pushes and receipts go. Default: a Router over `presence` and `broker`. */
  router?: ChatRouter;
  /** Where frames the queue gave up on are reported (default: JSON lines on stderr). */
  log?: Log;
  /** Where frames handled, queue waits, errors and stored messages are counted (docs/metrics.md); default none. */
  metrics?: Metrics;
}

export interface ChatServerStats {
  framesHandled: number;
  errorsByCode: Map<string, number>;
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
  private readonly router: ChatRouter;
  private msgIdCounter = 0;
  private readonly log: Log;
  private readonly metrics: ChatServerInstruments;
  /** One tick computation per chat and kind at a time (see requestTicks). */
  private readonly tickRuns = new Coalescer();
  private readonly sync: SyncHandler;
  private readonly presenceQueries: PresenceQueries;
  /** chat|kind keys whose next tick computation tells every sender again (a redelivered frame asked for it). */
  private readonly retellTicks = new Set<string>();

  constructor(private readonly deps: ChatServerDeps) {
    this.router = deps.router ?? new Router(deps.presence, deps.broker);
    const reply = (env: InboundEnvelope, frame: object): Promise<void> => this.reply(env, frame);
    const inbox = new InboxMaterializer({ store: deps.store, directory: deps.directory });
    this.sync = new SyncHandler({ store: deps.store, directory: deps.directory, limits: deps.limits, inbox, reply });
    this.presenceQueries = new PresenceQueries({ clock: deps.clock, directory: deps.directory, presence: deps.presence, limits: deps.limits, reply });
    this.log = deps.log ?? createStderrLog(`chat-server ${deps.id}`);
    this.metrics = chatServerInstruments(deps.metrics ?? NO_METRICS);
  }

  get id(): string {
    return this.deps.id;
  }

  start(): void {
    if (this.consumer) return;
    this.consumer = this.deps.queue.consume(this.deps.id, (entry) => this.handleEntry(entry), { onDeadLetter: (letter) => this.onDeadLetter(letter) });
  }

  /**
   * The queue gave up on a frame (its processing failed poisonAttemptsMax times): the
   * operator gets a log record and the sender a FRAME_FAILED error, both with the dead
   * letter's correlation id. The frame's text is not logged, only its size (it may be a
   * private message).
   */
  async onDeadLetter(letter: DeadLetter): Promise<void> {
    this.metrics.deadLetters.inc();
    this.count('FRAME_FAILED');
    const parsed = parseJsonBounded(letter.payload);
    const envelope = parsed.ok ? parsed.value as Partial<InboundEnvelope> | null : null;
    this.log.error('queue-dead-letter', {
      correlationId: letter.correlationId, key: letter.key.slice(0, 200), attempts: letter.attempts, reason: letter.reason,
      user: String(envelope?.user ?? '?').slice(0, 200), frameChars: typeof envelope?.frame === 'string' ? envelope.frame.length : -1,
    });
    if (typeof envelope?.gw !== 'string' || typeof envelope.conn !== 'string') return;
    const frame: ErrorFrame = { type: 'error', code: 'FRAME_FAILED', message: ERROR_CODES.FRAME_FAILED.text, correlationId: letter.correlationId };
    const ref = typeof envelope.frame === 'string' ? refOf(envelope.frame) : undefined;
    if (ref !== undefined) frame.ref = ref;
    try {
      await this.router.toConnection(envelope.gw, envelope.conn, JSON.stringify(frame));
    } catch {
      // The broker is down too: the client's own retry timer notices the missing answer.
    }
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
      this.metrics.acked.inc();
      return; // A broken envelope is a gateway bug; acknowledging it keeps the lane moving.
    }
    this.stats.framesHandled++;
    const startedMs = this.deps.clock.nowMs();
    if (typeof envelope.at === 'number') this.metrics.queueWait.observe({}, Math.max(0, startedMs - envelope.at) / 1000);
    const type = typeof envelope.frame === 'string' ? frameTypeLabel(envelope.frame) : 'other';
    this.metrics.frames.inc({ type });
    this.metrics.inFlight.inc();
    try {
      await this.handleFrame(envelope, entry.redeliveries > 0);
    } catch (error) {
      if (!(error instanceof FrameRejected)) throw error; // Store or broker trouble: let the queue redeliver.
      this.count(error.code);
      const frame: Record<string, unknown> = { type: 'error', code: error.code, message: error.message };
      if (error.ref !== undefined) frame.ref = error.ref;
      await this.router.toConnection(envelope.gw, envelope.conn, JSON.stringify(frame));
    } finally {
      this.metrics.inFlight.dec();
      this.metrics.handle.observe({ type }, Math.max(0, this.deps.clock.nowMs() - startedMs) / 1000);
    }
    this.metrics.acked.inc();
  }

  private async handleFrame(env: InboundEnvelope, redelivered: boolean): Promise<void> {
    const validation = validateFrame(env.frame, this.deps.limits);
    if (!validation.ok) throw new FrameRejected(validation.code, validation.message, validation.ref);
    const frame = validation.frame;
    switch (frame.type) {
      case 'send': return this.onSend(env, frame, redelivered);
      case 'ack': return this.onCursor(env, frame, 'delivered', redelivered);
      case 'read': return this.onCursor(env, frame, 'read', redelivered);
      case 'typing': return this.onTyping(env, frame, redelivered);
      case 'sync': return frame.token !== undefined ? this.sync.token(env, frame) : this.sync.watermark(env, frame);
      case 'presence_query': return this.presenceQueries.answer(env, frame);
      case 'ping': return this.reply(env, { type: 'pong' });
    }
  }

  // ---- send ----

  private async onSend(env: InboundEnvelope, frame: SendFrame, redelivered: boolean): Promise<void> {
    const chat = await this.deps.directory.getChat(frame.chat);
    if (!chat || !chat.members.has(env.user)) return this.onSendOutside(env, frame, chat, redelivered);
    const nowMs = this.deps.clock.nowMs();
    const input: AppendInput = {
      chatId: chat.id, senderId: env.user, senderDeviceId: env.device, clientMsgId: frame.clientMsgId,
      body: frame.body, msgId: this.nextMsgId(nowMs), sentAtMs: nowMs,
    };
    const { message, created } = await this.deps.store.append(input);
    if (created) this.metrics.messagesStored.inc();
    if (!created && message.body !== frame.body) {
      throw new FrameRejected('CLIENT_MSG_ID_REUSED', ERROR_CODES.CLIENT_MSG_ID_REUSED.text, frame.clientMsgId);
    }
    // A client's retry of a send already stored (its ACK was slow or lost) only needs the ACK:
    // the frame that stored it does the pushes, and if its server died on the way the queue
    // hands that frame out again. Redoing them here (with the inbox events of the time) doubled the store's work per
    // retry exactly when the store was slow enough to cause retries.
    if (!created && !redelivered) {
      await this.reply(env, { type: 'sent', ref: message.clientMsgId, chat: chat.id, seq: message.seq, msgId: message.msgId, ts: message.sentAtMs });
      return;
    }
    await this.afterAppend(env, chat, message);
  }

  /**
   * A send from someone who is not a member (now): refused NOT_MEMBER, unless it is a retry of a
   * send stored while they were one (same clientMsgId and body). That is answered from the store
   * as any retry is, so a sender removed between the store and its ACK still learns its message
   * is stored (issue 14, swarm seed 33). Nothing is stored for a non-member, ever.
   */
  private async onSendOutside(env: InboundEnvelope, frame: SendFrame, chat: ChatRecord | undefined, redelivered: boolean): Promise<void> {
    const stored = chat ? await this.deps.store.findSend(chat.id, env.user, frame.clientMsgId) : undefined;
    if (!chat || !stored || stored.body !== frame.body) throw new FrameRejected('NOT_MEMBER', ERROR_CODES.NOT_MEMBER.text, frame.clientMsgId);
    if (redelivered) return this.afterAppend(env, chat, stored);
    await this.reply(env, { type: 'sent', ref: stored.clientMsgId, chat: chat.id, seq: stored.seq, msgId: stored.msgId, ts: stored.sentAtMs });
  }

  /**
   * A repeat (client retry, or queue redelivery after a crash) redoes every step after the
   * write: each is idempotent, and a crash may have cut any of them short the first time.
   */
  private async afterAppend(env: InboundEnvelope, chat: ChatRecord, message: StoredMessage): Promise<void> {
    const sent: SentFrame = { type: 'sent', ref: message.clientMsgId, chat: chat.id, seq: message.seq, msgId: message.msgId, ts: message.sentAtMs };
    // The message is durable once appended. The frame is acknowledged to the queue only after
    // the ACK and the pushes, so a crash in between redoes them. (Inbox events are not written
    // here: the inbox is filled when it is read, see InboxMaterializer.)
    await Promise.all([this.reply(env, sent), this.fanOut(chat, message, env.conn)]);
  }

  /**
   * Pushes to the members as they are once the message is stored, not as they were when the
   * send arrived: a member added while a slow append was in flight is owed this message (its
   * seq is past their joinedAtSeq), yet their own sync ran before the append was visible
   * (issue 14, swarm seed 4040148: a 3 s store latency, the joiner got seq 2 only by a gap
   * sync). One more directory read per send; the snapshot stands in if the chat is gone.
   */
  private async fanOut(chat: ChatRecord, message: StoredMessage, exceptConnection: string): Promise<void> {
    const current = (await this.deps.directory.getChat(chat.id)) ?? chat;
    await this.router.toMembers(current, JSON.stringify(toMessageFrame(message)), exceptConnection);
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
    if (!await this.deps.store.reaches(chat.id, upTo)) {
      throw new FrameRejected('CURSOR_AHEAD', `upTo ${upTo} is past the chat head ${await this.deps.store.headSeq(chat.id)}`);
    }
    const kinds: CursorKind[] = kind === 'read' ? ['delivered', 'read'] : ['delivered'];
    for (const k of kinds) {
      const moved = await this.deps.store.advanceCursor(chat.id, reader, k, upTo);
      if (moved.after > moved.before || redelivered) await this.requestTicks(chat.id, k, redelivered);
    }
  }

  /**
   * Recomputes a chat's ticks after a cursor write, folded with the writes of other members that
   * arrive meanwhile (one computation per chat and kind at a time; see Coalescer). Resolves once
   * a computation that saw this write has told every sender, so the frame is acknowledged only
   * then (a crash before it leaves the frame to be redelivered).
   */
  private requestTicks(chatId: string, kind: CursorKind, redelivered: boolean): Promise<void> {
    const key = `${chatId}|${kind}`;
    // A redelivered frame may follow a crash between the cursor write and the receipts, or a
    // receipt published into a broker that lost it: tell every sender again. Receipts are
    // cumulative and inbox appends idempotent, so a repeat is harmless.
    if (redelivered) this.retellTicks.add(key);
    return this.tickRuns.run(key, () => this.announceTicks(chatId, kind, this.retellTicks.delete(key)));
  }

  /**
   * The receipt rule (docs/protocol.md section 5): a sender is told their aggregate tick when it
   * rose past the tick they were last told and their latest message is above that old tick
   * (otherwise every message of theirs is ticked already). What was told is read from the store
   * and raised there after the receipt went out, so no chat server tells it again, and a crash
   * in between only repeats it. `retell`: ignore what was told (see requestTicks).
   */
  private async announceTicks(chatId: string, kind: CursorKind, retell: boolean): Promise<void> {
    const chat = await this.deps.directory.getChat(chatId);
    if (!chat) return;
    const { cursors, lastSeqBySender, announced } = await this.deps.store.tickState(chat.id);
    const floor = cursorFloor(memberCursors(chat, cursors, kind));
    const changes: Array<{ sender: string; upTo: number }> = [];
    for (const [sender, lastSeq] of lastSeqBySender) {
      if (!chat.members.has(sender)) continue;
      const upTo = aggregateFor(floor, sender);
      const told = retell ? 0 : announced.get(sender)?.[kind] ?? 0;
      if (!Number.isFinite(upTo) || upTo <= told || lastSeq <= told) continue;
      changes.push({ sender, upTo });
    }
    await Promise.all(changes.map(async ({ sender, upTo }) => {
      const readerName = chat.kind === 'direct' ? otherMember(chat, sender) : '*';
      const receipt: ReceiptFrame = { type: 'receipt', chat: chat.id, user: readerName, kind, upTo };
      // The cursor is already stored (a token sync copies the tick into the inbox from it).
      await this.router.toUsers([sender], JSON.stringify(receipt));
      await this.deps.store.raiseAnnounced(chat.id, sender, kind, upTo);
    }));
  }

  // ---- typing ----

  private async onTyping(env: InboundEnvelope, frame: TypingFrame, redelivered: boolean): Promise<void> {
    const chat = await this.memberChat(env.user, frame.chat);
    // A piggybacked read receipt has exactly the effect of a standalone one.
    if (frame.read !== undefined) await this.advance(chat, env.user, 'read', frame.read, redelivered);
    // Under overload a typing frame can wait in the queue past any client's indicator timeout.
    if (typeof env.at === 'number' && this.deps.clock.nowMs() - env.at > this.deps.limits.typingNoticeAgeMaxMs) {
      this.metrics.staleTypingDropped.inc();
      return;
    }
    const others = [...chat.members.keys()].filter((u) => u !== env.user);
    await this.router.toUsers(others, JSON.stringify({ type: 'typing', chat: chat.id, user: env.user }));
  }

  // ---- helpers ----

  private async memberChat(user: string, chatId: string): Promise<ChatRecord> {
    const chat = await this.deps.directory.getChat(chatId);
    if (!chat || !chat.members.has(user)) throw new FrameRejected('NOT_MEMBER', ERROR_CODES.NOT_MEMBER.text);
    return chat;
  }

  private async reply(env: InboundEnvelope, frame: object): Promise<void> {
    await this.router.toConnection(env.gw, env.conn, JSON.stringify(frame));
  }

  private count(code: string): void {
    this.metrics.errors.inc({ code });
    this.stats.errorsByCode.set(code, (this.stats.errorsByCode.get(code) ?? 0) + 1);
  }
}

/** The `ref` a reply about this frame carries: its string `clientMsgId`, else its string `id`. */
function refOf(frameText: string): string | undefined {
  const parsed = parseJsonBounded(frameText);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return undefined;
  const f = parsed.value as Record<string, unknown>;
  return typeof f.clientMsgId === 'string' ? f.clientMsgId : typeof f.id === 'string' ? f.id : undefined;
}

export { toMessageFrame };
