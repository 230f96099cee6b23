import cassandra from 'cassandra-driver';
import type { Client } from 'cassandra-driver';
import type {
  AppendInput, AppendResult, ChatPage, CursorAdvance, CursorKind, InboxEvent, InboxMark, InboxPage, TickState,
  MessageStore, StoredMessage, UserCursors,
} from '../ports/MessageStore.ts';
import { isValidKeyspaceName } from './applySchema.ts';
import { BucketedLogs, MAX_SLOT_MOVES, bucketOf, remember } from './BucketedLogs.ts';
import { READ, WRITE, lwt, num, text } from './lwt.ts';
import { claimFrom, type MessageClaim } from './sendClaims.ts';
import { statements } from './statements.ts';

/** Cursors whose last seen value this store remembers (see knownCursors). */
const CURSOR_CACHE_ENTRIES_MAX = 200_000;
/**
 * Sends this store saw placed and whose message it remembers (see placedSends): enough for the
 * retries of the sends of the last minutes (a message is at most bodyBytesMax, so about 40 MB at
 * worst, a few MB for chat-sized bodies).
 */
const PLACED_SEND_ENTRIES_MAX = 10_000;

export interface CassandraMessageStoreOptions {
  keyspace: string;
  /** Messages per (chat_id, bucket) partition. Only used when the keyspace is first opened; afterwards the stored value wins. */
  messageBucketSize?: number;
  /** Inbox events per (user_id, bucket) partition; as above. */
  inboxBucketSize?: number;
  /** Epoch for a keyspace opened for the first time (default: a random UUID). */
  newEpoch?: () => string;
}

/**
 * MessageStore on Apache Cassandra 5.0 (schema: server/cassandra/schema.cql, design and failure
 * behaviour: docs/architecture.md, "Cassandra").
 *
 * A message's seq is the clustering key of its row, taken by the row's own INSERT IF NOT EXISTS
 * at head + 1: the row and the seq are written in one lightweight transaction, so seqs are
 * contiguous with any number of chat servers and a crash leaves no gap. Idempotency is a claim on
 * (chat, sender, clientMsgId) taken first (INSERT IF NOT EXISTS) holding the payload and the one
 * slot the message may occupy; the slot moves (CAS) only when another message holds it, so the
 * message can never be stored twice, and anyone who retries the send finishes it. The inbox uses
 * the same scheme on (user, eventKey).
 *
 * Within one process, appends to the same chat (and inbox appends for the same user) are queued,
 * so concurrent sends do not contend on the same slot; between processes, the transactions
 * decide. Rows are never updated after they are written.
 */
export class CassandraMessageStore implements MessageStore {
  readonly epoch: string;
  readonly keyspace: string;
  readonly messageBucketSize: number;
  readonly inboxBucketSize: number;
  private readonly client: Client;
  private readonly q: ReturnType<typeof statements>;
  private readonly logs: BucketedLogs;
  /** Cursor values this store saw stored, per (kind, chat, user): a lower bound, as heads are (see advanceCursor). */
  private readonly knownCursors = new Map<string, number>();
  /**
   * Sends this process placed or found placed, by (chat, sender, clientMsgId), with the stored
   * message: a client's retry of a send is answered from here with no statement (it cost three:
   * the claim read, the slot read and the sender's latest-seq write). Exact, not a guess: a
   * message row and its claim are never changed once the message is placed, and an entry is
   * added only after the sender's latest seq was written too. Least recently used first out
   * past PLACED_SEND_ENTRIES_MAX; a retry older than that costs its three statements again.
   */
  private readonly placedSends = new Map<string, StoredMessage>();

  private constructor(client: Client, keyspace: string, epoch: string, messageBucketSize: number, inboxBucketSize: number) {
    this.client = client;
    this.keyspace = keyspace;
    this.epoch = epoch;
    this.messageBucketSize = messageBucketSize;
    this.inboxBucketSize = inboxBucketSize;
    this.q = statements(keyspace);
    this.logs = new BucketedLogs(client);
  }

  /**
   * Opens the store on a keyspace made by applySchema. The first open writes the epoch and the
   * bucket sizes (INSERT IF NOT EXISTS); every later open, from any process, reads them back.
   */
  static async open(client: Client, options: CassandraMessageStoreOptions): Promise<CassandraMessageStore> {
    const { keyspace } = options;
    if (!isValidKeyspaceName(keyspace)) throw new Error(`invalid keyspace name: ${keyspace}`);
    const messageBucketSize = options.messageBucketSize ?? 1_000;
    const inboxBucketSize = options.inboxBucketSize ?? 1_000;
    for (const size of [messageBucketSize, inboxBucketSize]) {
      if (!Number.isInteger(size) || size < 1) throw new Error(`bucket sizes must be positive integers, got ${size}`);
    }
    const epoch = options.newEpoch?.() ?? `cassandra-${cassandra.types.Uuid.random().toString()}`;
    const result = await lwt(client, `INSERT INTO ${keyspace}.store_meta (name, epoch, message_bucket_size, inbox_bucket_size) VALUES ('store', ?, ?, ?) IF NOT EXISTS`,
      [epoch, messageBucketSize, inboxBucketSize]);
    if (result.applied) return new CassandraMessageStore(client, keyspace, epoch, messageBucketSize, inboxBucketSize);
    const row = result.row;
    const stored = text(row.get('epoch'));
    const storedMessageBuckets = num(row.get('message_bucket_size'));
    const storedInboxBuckets = num(row.get('inbox_bucket_size'));
    if (!stored || !storedMessageBuckets || !storedInboxBuckets) throw new Error(`${keyspace}.store_meta holds an incomplete 'store' row`);
    return new CassandraMessageStore(client, keyspace, stored, storedMessageBuckets, storedInboxBuckets);
  }

  // ---- messages ----

  async append(input: AppendInput): Promise<AppendResult> {
    // Copy first: the caller may mutate its object while we wait in the queue.
    const message: Omit<StoredMessage, 'seq'> = {
      chatId: input.chatId, msgId: input.msgId, senderId: input.senderId, senderDeviceId: input.senderDeviceId,
      clientMsgId: input.clientMsgId, body: input.body, sentAtMs: input.sentAtMs,
    };
    return this.logs.serialize(`chat\u0000${message.chatId}`, () => this.appendNow(message));
  }

  private async appendNow(input: Omit<StoredMessage, 'seq'>): Promise<AppendResult> {
    const sendKey = `${input.chatId}\u0000${input.senderId}\u0000${input.clientMsgId}`;
    const placed = this.placedSends.get(sendKey);
    if (placed) {
      this.placedSends.delete(sendKey);
      this.placedSends.set(sendKey, placed);
      return { message: { ...placed }, created: false };
    }
    const owner = cassandra.types.Uuid.random();
    const headKey = `chat\u0000${input.chatId}`;
    // A client's retry of a slow send is the commonest repeat: a plain read finds its claim (a
    // claim row is written once; only its slot moves) and spares the claim's transaction, and
    // the row at its slot is read before any transaction (see placeMessage).
    const existing = (await this.client.execute(this.q.getSendClaim, [input.chatId, input.senderId, input.clientMsgId], READ)).first();
    let claim: MessageClaim;
    if (existing) {
      claim = claimFrom(existing, input, true);
    } else {
      const guess = (this.logs.knownHead(headKey) ?? await this.headSeq(input.chatId)) + 1;
      const claimed = await lwt(this.client, this.q.claimSend, [
        input.chatId, input.senderId, input.clientMsgId, owner, guess, input.msgId, input.senderDeviceId, input.body, input.sentAtMs,
      ]);
      claim = claimed.applied ? { owner: owner.toString(), slot: guess, message: input, maybePlaced: false } : claimFrom(claimed.row, input, true);
    }
    // The claim is ours if it was taken now, or by this very call on an attempt whose outcome was lost to a timeout.
    const created = claim.owner === owner.toString();
    const seq = await this.logs.settle(
      claim,
      (slot) => this.placeMessage(claim, slot),
      (from, to) => this.moveMessageSlot(claim, from, to),
      () => this.headSeq(input.chatId),
    );
    this.logs.rememberHead(headKey, seq);
    const b = bucketOf(seq, this.messageBucketSize);
    await Promise.all([
      this.client.execute(this.q.setSenderLast, [seq + 1, seq, input.chatId, input.senderId], WRITE),
      b > 0 && (seq - 1) % this.messageBucketSize === 0 ? this.client.execute(this.q.setChatHead, [b + 1, b, input.chatId], WRITE) : undefined,
    ]);
    const message: StoredMessage = { ...claim.message, seq };
    this.placedSends.set(sendKey, message);
    if (this.placedSends.size > PLACED_SEND_ENTRIES_MAX) this.placedSends.delete(this.placedSends.keys().next().value!);
    return { message: { ...message }, created };
  }

  async findSend(chatId: string, senderId: string, clientMsgId: string): Promise<StoredMessage | undefined> {
    const placed = this.placedSends.get(`${chatId}\u0000${senderId}\u0000${clientMsgId}`);
    if (placed) return { ...placed };
    const claimRow = (await this.client.execute(this.q.getSendClaim, [chatId, senderId, clientMsgId], READ)).first();
    if (!claimRow) return undefined;
    const claim = claimFrom(claimRow, { chatId, senderId, clientMsgId, msgId: '', senderDeviceId: '', body: '', sentAtMs: 0 }, true);
    // The claim's slot is where the message is (or is being) placed; only a row there that is
    // this send's says it is stored. An empty slot or another's message: not placed (yet).
    const there = (await this.client.execute(this.q.getMessageSender, [chatId, bucketOf(claim.slot, this.messageBucketSize), claim.slot], READ)).first();
    if (!there || there.get('sender_id') !== senderId || there.get('client_msg_id') !== clientMsgId) return undefined;
    return { ...claim.message, seq: claim.slot };
  }

  /** Stores the claim's message at `slot` unless the slot is taken. 'ours' when the slot holds this message (now or already). */
  private async placeMessage(claim: MessageClaim, slot: number): Promise<'ours' | 'taken'> {
    const m = claim.message;
    if (claim.maybePlaced) {
      // Someone else's claim (an earlier try of this send): its row is likely there already. A
      // message row is never updated or deleted, so seeing it at LOCAL_QUORUM settles it; an
      // empty slot (or one whose transaction is still under way) goes on to the transaction.
      claim.maybePlaced = false;
      const there = (await this.client.execute(this.q.getMessageSender, [m.chatId, bucketOf(slot, this.messageBucketSize), slot], READ)).first();
      if (there) return there.get('sender_id') === m.senderId && there.get('client_msg_id') === m.clientMsgId ? 'ours' : 'taken';
    }
    const result = await lwt(this.client, this.q.insertMessage, [
      m.chatId, bucketOf(slot, this.messageBucketSize), slot, m.msgId, m.senderId, m.senderDeviceId, m.clientMsgId, m.body, m.sentAtMs,
    ]);
    if (result.applied) return 'ours';
    return result.row.get('sender_id') === m.senderId && result.row.get('client_msg_id') === m.clientMsgId ? 'ours' : 'taken';
  }

  private async moveMessageSlot(claim: MessageClaim, from: number, to: number): Promise<number> {
    const m = claim.message;
    const result = await lwt(this.client, this.q.moveSendSlot, [
      to, claim.owner, m.msgId, m.senderDeviceId, m.body, m.sentAtMs, m.chatId, m.senderId, m.clientMsgId, from,
    ]);
    return result.applied ? to : num(result.row.get('trying_seq')) ?? to;
  }

  async readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    const from = Math.max(0, Math.floor(afterSeq)) + 1;
    // The caller's watermark is where the head most likely is (a sync that finds nothing new is
    // the commonest read there is): start the head probe in its bucket, one query when warm.
    const headSeq = await this.logs.headOf(`chat\u0000${chatId}`, chatId, from - 1, this.q.getChatHead, this.q.maxSeqInBucket, this.messageBucketSize);
    const to = Math.min(headSeq, from - 1 + Math.max(0, Math.floor(limit)));
    const rows = await this.logs.readRange(this.q.readMessages, chatId, from, to, this.messageBucketSize);
    const messages: StoredMessage[] = [];
    for (const row of rows) {
      const seq = num(row.get('seq'))!;
      // Seqs are contiguous; a missing one would be a broken invariant. Stop before it rather than skip it.
      if (seq !== from + messages.length) break;
      messages.push({
        chatId, seq, msgId: text(row.get('msg_id')) ?? '', senderId: text(row.get('sender_id')) ?? '',
        senderDeviceId: text(row.get('sender_device_id')) ?? '', clientMsgId: text(row.get('client_msg_id')) ?? '',
        body: text(row.get('body')) ?? '', sentAtMs: num(row.get('sent_at_ms')) ?? 0,
      });
    }
    const last = messages.length > 0 ? messages[messages.length - 1]!.seq : from - 1;
    return { messages, headSeq, hasMore: last < headSeq };
  }

  async headSeq(chatId: string): Promise<number> {
    return this.logs.headOf(`chat\u0000${chatId}`, chatId, 0, this.q.getChatHead, this.q.maxSeqInBucket, this.messageBucketSize);
  }

  async reaches(chatId: string, seq: number): Promise<boolean> {
    // A head this process saw is never above the true one, so one at or past seq settles it.
    if (seq <= 0 || (this.logs.knownHead(`chat\u0000${chatId}`) ?? 0) >= seq) return true;
    return (await this.headSeq(chatId)) >= seq;
  }

  // ---- cursors ----

  async advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance> {
    const cacheKey = `${kind}\u0000${chatId}\u0000${userId}`;
    // A cursor this process saw stored only grows, so when it already covers upTo the advance
    // changes nothing and needs no I/O (phones repeat receipts after every reconnect).
    const seen = this.knownCursors.get(cacheKey);
    if (seen !== undefined && seen >= upTo) return { before: seen, after: seen };
    // Otherwise write without reading: the cell's write timestamp is upTo + 1, so the highest
    // upTo wins whatever order writes arrive in, from any process, with no read-modify-write
    // and no lightweight transaction (a receipt is the most frequent write there is). `before`
    // is what this process last saw (0 if nothing): another process may have moved the cursor
    // further, as the contract allows; the caller recomputes ticks from the store either way.
    // A user's first advance always writes (even upTo 0), so the user appears in getCursors.
    await this.client.execute(this.q.setCursor[kind], [upTo + 1, upTo, chatId, userId], WRITE);
    remember(this.knownCursors, cacheKey, upTo, CURSOR_CACHE_ENTRIES_MAX);
    return { before: seen ?? 0, after: upTo };
  }

  async getCursors(chatId: string): Promise<Map<string, UserCursors>> {
    return (await this.tickState(chatId)).cursors;
  }

  async tickState(chatId: string): Promise<TickState> {
    // Cursors and latest seqs share cursor_marks' rows: one partition read gives both. A row
    // may hold only a latest seq (a sender who never advanced a cursor): no cursors for them.
    const rows = await this.logs.readAll(this.q.getChatMarks, [chatId]);
    const cursors = new Map<string, UserCursors>();
    const lastSeqBySender = new Map<string, number>();
    const announced = new Map<string, UserCursors>();
    for (const row of rows) {
      const user = String(row.get('user_id'));
      const delivered = num(row.get('delivered_upto'));
      const read = num(row.get('read_upto'));
      const lastSent = num(row.get('last_sent_seq'));
      const deliveredTold = num(row.get('delivered_announced'));
      const readTold = num(row.get('read_announced'));
      if (delivered !== undefined || read !== undefined) cursors.set(user, { delivered: delivered ?? 0, read: read ?? 0 });
      if (lastSent !== undefined) lastSeqBySender.set(user, lastSent);
      if (deliveredTold !== undefined || readTold !== undefined) announced.set(user, { delivered: deliveredTold ?? 0, read: readTold ?? 0 });
    }
    return { cursors, lastSeqBySender, announced };
  }

  async raiseAnnounced(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<void> {
    // As cursors: written USING TIMESTAMP upTo + 1, so the highest value wins whatever the order
    // of the writes, from any chat server, with no read and no transaction. In cursor_marks, so
    // the tick computation's one partition read (tickState) sees it.
    await this.client.execute(this.q.setAnnounced[kind], [upTo + 1, upTo, chatId, userId], WRITE);
  }

  // ---- inbox ----

  async appendInbox(userId: string, eventKey: string, event: InboxEvent): Promise<number> {
    const json = JSON.stringify(event);
    return this.logs.serialize(`inbox\u0000${userId}`, () => this.appendInboxNow(userId, eventKey, json));
  }

  /**
   * An inbox event costs one lightweight transaction: its row's INSERT IF NOT EXISTS at head + 1.
   * Idempotency comes from an index (user, eventKey) -> position, written (plainly) before each
   * try and read again after every taken slot, so a repeat, a retry after a crash at any point,
   * or a second process that lost the race to the same event finds where it went. What it does
   * not cover: two processes placing the same event at the same moment, each before the other's
   * index write (two chat servers announcing one group receipt, a frame redelivered while its
   * first try still runs), can store it twice, at two positions; inbox readers must ignore a
   * repeated event key (the events are keyed and idempotent: a message by chat and seq, a
   * receipt by its upTo). Messages, whose duplicates would reach people, keep the claim scheme.
   */
  private async appendInboxNow(userId: string, eventKey: string, json: string): Promise<number> {
    const headKey = `inbox\u0000${userId}`;
    for (let tries = 0; tries < MAX_SLOT_MOVES; tries++) {
      // First, and again after every taken slot: another process may have placed this very
      // event meanwhile (two chat servers announcing the same group receipt), and said where.
      const placedBefore = await this.placedInboxPosition(userId, eventKey);
      if (placedBefore !== undefined) return placedBefore;
      const known = tries === 0 ? this.logs.knownHead(headKey) : undefined;
      const position = (known ?? await this.inboxHead(userId)) + 1;
      await this.client.execute(this.q.setInboxIndex, [userId, eventKey, position], WRITE);
      const placed = await lwt(this.client, this.q.insertInbox, [userId, bucketOf(position, this.inboxBucketSize), position, eventKey, json]);
      if (placed.applied || placed.row.get('event_key') === eventKey) {
        this.logs.rememberHead(headKey, position);
        const b = bucketOf(position, this.inboxBucketSize);
        if (b > 0 && (position - 1) % this.inboxBucketSize === 0) await this.client.execute(this.q.setInboxHead, [b + 1, b, userId], WRITE);
        return position;
      }
    }
    throw new Error(`gave up placing an inbox event after ${MAX_SLOT_MOVES} tries`);
  }

  /** Where the index says the event went, if the inbox row there holds it. */
  private async placedInboxPosition(userId: string, eventKey: string): Promise<number | undefined> {
    const intended = num((await this.client.execute(this.q.getInboxIndex, [userId, eventKey], READ)).first()?.get('position'));
    if (intended === undefined) return undefined;
    const row = (await this.client.execute(this.q.getInboxRow, [userId, bucketOf(intended, this.inboxBucketSize), intended], READ)).first();
    return row && row.get('event_key') === eventKey ? intended : undefined;
  }

  async readInbox(userId: string, afterPosition: number, limit: number): Promise<InboxPage> {
    const headPosition = await this.inboxHead(userId);
    const from = Math.max(0, Math.floor(afterPosition)) + 1;
    const to = Math.min(headPosition, from - 1 + Math.max(0, Math.floor(limit)));
    const rows = await this.logs.readRange(this.q.readInbox, userId, from, to, this.inboxBucketSize);
    const events: InboxPage['events'] = [];
    for (const row of rows) {
      const position = num(row.get('position'))!;
      if (position !== from + events.length) break;
      events.push({ position, event: JSON.parse(text(row.get('event')) ?? 'null') as InboxEvent });
    }
    const last = events.length > 0 ? events[events.length - 1]!.position : from - 1;
    return { events, headPosition, hasMore: last < headPosition };
  }

  async getInboxMarks(userId: string): Promise<Map<string, InboxMark>> {
    const rows = await this.logs.readAll(this.q.getInboxMarks, [userId]);
    return new Map(rows.map((row) => [String(row.get('chat_id')), {
      messages: num(row.get('messages_upto')) ?? 0, delivered: num(row.get('delivered_upto')) ?? 0, read: num(row.get('read_upto')) ?? 0,
    }]));
  }

  async raiseInboxMark(userId: string, chatId: string, mark: InboxMark): Promise<void> {
    // As cursors: each cell written USING TIMESTAMP value + 1, so the highest value wins whatever
    // the order of the writes, from any process, with no read and no transaction.
    const fields = [['messages', mark.messages], ['delivered', mark.delivered], ['read', mark.read]] as const;
    await Promise.all(fields.filter(([, value]) => value > 0).map(([field, value]) =>
      this.client.execute(this.q.raiseInboxMark[field], [value + 1, value, userId, chatId], WRITE)));
  }

  private inboxHead(userId: string): Promise<number> {
    return this.logs.headOf(`inbox\u0000${userId}`, userId, 0, this.q.getInboxHead, this.q.maxPositionInBucket, this.inboxBucketSize);
  }
}
