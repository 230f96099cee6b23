import cassandra from 'cassandra-driver';
import type { Client, types as driverTypes } from 'cassandra-driver';
import type {
  AppendInput, AppendResult, ChatPage, CursorAdvance, CursorKind, InboxEvent, InboxMark, InboxPage, TickState,
  MessageStore, StoredMessage, UserCursors,
} from '../ports/MessageStore.ts';
import { isValidKeyspaceName } from './applySchema.ts';

const { consistencies } = cassandra.types;

/**
 * Consistency levels. With RF 3 per datacenter, LOCAL_QUORUM is 2 of the 3 local replicas, so a
 * read at LOCAL_QUORUM always overlaps the last acknowledged write. The lightweight transactions
 * (seq allocation, send claims, inbox rows) run Paxos at SERIAL, a quorum of all replicas in every
 * datacenter: two chat servers in different datacenters appending to the same chat still get
 * distinct, contiguous seqs (LOCAL_SERIAL would be cheaper but is only safe if each chat is
 * written from one datacenter). The Paxos commit is at LOCAL_QUORUM, so once `append` resolves
 * the row is in the commit log of a local quorum and LOCAL_QUORUM readers see it. With RF 1 (the
 * local/CI node) every level is that one node.
 */
const READ = { prepare: true, isIdempotent: true, consistency: consistencies.localQuorum } as const;
const WRITE = { prepare: true, isIdempotent: true, consistency: consistencies.localQuorum } as const;
const LWT = { prepare: true, isIdempotent: true, consistency: consistencies.localQuorum, serialConsistency: consistencies.serial } as const;

/** Rows per driver page when reading history or an inbox. */
const FETCH_SIZE = 500;
/** Attempts of one lightweight transaction whose outcome was unknown (timeout) before giving up. */
const LWT_ATTEMPTS = 4;
/** Slot moves one append may make before giving up (each needs another writer to have taken the slot). */
const MAX_SLOT_MOVES = 1_000;
/** Chats and users whose head this store remembers as the guess for its next append (see knownHeads). */
const HEAD_CACHE_ENTRIES_MAX = 100_000;
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

type Row = driverTypes.Row;

/** A claim on an idempotency key: who took it, the payload of the first call, and its current slot. */
interface MessageClaim {
  owner: string;
  slot: number;
  message: Omit<StoredMessage, 'seq'>;
  /** Taken by an earlier call, so its slot may hold the message already (see placeMessage). */
  maybePlaced: boolean;
}

/** A claim's slot; every claim is written with one, so a row without it is a broken invariant. */
function slotOf(row: Row): number {
  const slot = num(row.get('trying_seq'));
  if (slot === undefined || slot < 1) throw new Error(`send_claims row without a valid trying_seq (${String(slot)})`);
  return slot;
}

/** The claim a send_claims row holds (the stored payload, not this call's). */
function claimFrom(row: Row, input: Omit<StoredMessage, 'seq'>, maybePlaced: boolean): MessageClaim {
  return {
    owner: String(row.get('owner')),
    slot: slotOf(row),
    maybePlaced,
    message: {
      chatId: input.chatId, senderId: input.senderId, clientMsgId: input.clientMsgId,
      msgId: text(row.get('msg_id')) ?? '', senderDeviceId: text(row.get('sender_device_id')) ?? '',
      body: text(row.get('body')) ?? '', sentAtMs: num(row.get('sent_at_ms')) ?? 0,
    },
  };
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
  private readonly queues = new Map<string, Promise<void>>();
  /**
   * The highest seq (or inbox position) this store saw placed, per chat (or user), as the guess
   * for the next append: it saves the two reads of the head on every append. A head only
   * grows, so the guess is never too high; when another process appended meanwhile, the slot
   * is taken, and the transaction says so and the head is read then. Least recently used first
   * out past HEAD_CACHE_ENTRIES_MAX.
   */
  private readonly knownHeads = new Map<string, number>();
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
    return this.serialize(`chat\u0000${message.chatId}`, () => this.appendNow(message));
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
      const guess = (this.knownHeads.get(headKey) ?? await this.headSeq(input.chatId)) + 1;
      const claimed = await lwt(this.client, this.q.claimSend, [
        input.chatId, input.senderId, input.clientMsgId, owner, guess, input.msgId, input.senderDeviceId, input.body, input.sentAtMs,
      ]);
      claim = claimed.applied ? { owner: owner.toString(), slot: guess, message: input, maybePlaced: false } : claimFrom(claimed.row, input, true);
    }
    // The claim is ours if it was taken now, or by this very call on an attempt whose outcome was lost to a timeout.
    const created = claim.owner === owner.toString();
    const seq = await this.settle(
      claim,
      (slot) => this.placeMessage(claim, slot),
      (from, to) => this.moveMessageSlot(claim, from, to),
      () => this.headSeq(input.chatId),
    );
    this.rememberHead(headKey, seq);
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
    const headSeq = await this.headOf(`chat\u0000${chatId}`, chatId, from - 1, this.q.getChatHead, this.q.maxSeqInBucket, this.messageBucketSize);
    const to = Math.min(headSeq, from - 1 + Math.max(0, Math.floor(limit)));
    const rows = await this.readRange(this.q.readMessages, chatId, from, to, this.messageBucketSize);
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
    return this.headOf(`chat\u0000${chatId}`, chatId, 0, this.q.getChatHead, this.q.maxSeqInBucket, this.messageBucketSize);
  }

  async reaches(chatId: string, seq: number): Promise<boolean> {
    // A head this process saw is never above the true one, so one at or past seq settles it.
    if (seq <= 0 || (this.knownHeads.get(`chat\u0000${chatId}`) ?? 0) >= seq) return true;
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

  async lastSeqBySender(chatId: string): Promise<Map<string, number>> {
    return (await this.tickState(chatId)).lastSeqBySender;
  }

  async tickState(chatId: string): Promise<TickState> {
    // Cursors and latest seqs share cursor_marks' rows: one partition read gives both. A row
    // may hold only a latest seq (a sender who never advanced a cursor): no cursors for them.
    const rows = await this.readAll(this.q.getChatMarks, [chatId]);
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
    return this.serialize(`inbox\u0000${userId}`, () => this.appendInboxNow(userId, eventKey, json));
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
      const known = tries === 0 ? this.knownHeads.get(headKey) : undefined;
      const position = (known ?? await this.inboxHead(userId)) + 1;
      await this.client.execute(this.q.setInboxIndex, [userId, eventKey, position], WRITE);
      const placed = await lwt(this.client, this.q.insertInbox, [userId, bucketOf(position, this.inboxBucketSize), position, eventKey, json]);
      if (placed.applied || placed.row.get('event_key') === eventKey) {
        this.rememberHead(headKey, position);
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
    const rows = await this.readRange(this.q.readInbox, userId, from, to, this.inboxBucketSize);
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
    const rows = await this.readAll(this.q.getInboxMarks, [userId]);
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
    return this.headOf(`inbox\u0000${userId}`, userId, 0, this.q.getInboxHead, this.q.maxPositionInBucket, this.inboxBucketSize);
  }

  // ---- the shared machinery ----

  /** Records a head seen (never lowering what is known) and returns it. */
  private rememberHead(key: string, head: number): number {
    remember(this.knownHeads, key, head, HEAD_CACHE_ENTRIES_MAX);
    return head;
  }

  /**
   * Places a claimed entry: tries its slot; while another entry holds the slot, moves the claim
   * to the current head + 1 (CAS from the slot it saw, so concurrent helpers agree) and tries
   * again. Returns the slot that holds the entry.
   */
  private async settle(
    claim: { slot: number },
    place: (slot: number) => Promise<'ours' | 'taken'>,
    move: (from: number, to: number) => Promise<number>,
    head: () => Promise<number>,
  ): Promise<number> {
    for (let moves = 0; moves < MAX_SLOT_MOVES; moves++) {
      if (await place(claim.slot) === 'ours') return claim.slot;
      const next = (await head()) + 1;
      claim.slot = await move(claim.slot, Math.max(next, claim.slot + 1));
    }
    throw new Error(`gave up placing an entry after ${MAX_SLOT_MOVES} slot moves`);
  }

  /**
   * The highest seq (position) of a log: probe the bucket of a guess and forward while the
   * bucket is full. The guess is the larger of the head this process last saw, placed or read
   * (knownHeads, never too high: heads only grow), and the caller's `atLeast` (a client's
   * watermark, which may be anything): a non-empty bucket is at or before the head's bucket, so
   * probing forward from it is exact; an empty one (a guess past the head) falls back to the
   * head-bucket hint; a full one continues from the later of the hint and the next bucket. A
   * cold start guesses the first bucket. The hint lags when a writer stopped between its insert and the hint
   * write; probing forward covers that too. Warm, the common case costs one query, not two.
   */
  private async headOf(cacheKey: string, key: string, atLeast: number, hintQuery: string, maxQuery: string, bucketSize: number): Promise<number> {
    // Nothing known (a cold process, a watermark of 0) guesses the first bucket: most logs fit
    // in it, so the probe alone answers (empty: the log is; not full: its max), where reading
    // the hint first cost two queries. A log past its first bucket costs one query more than that.
    const guess = Math.max(this.knownHeads.get(cacheKey) ?? 0, atLeast, 1);
    let floorBucket = 0;
    const bucket = bucketOf(guess, bucketSize);
    const max = await this.maxIn(key, bucket, maxQuery);
    if (max === undefined && bucket === 0) return this.rememberHead(cacheKey, 0);
    if (max !== undefined && max < (bucket + 1) * bucketSize) return this.rememberHead(cacheKey, max);
    // Full: the head is in a later bucket, which the hint may name (a guess far behind would
    // otherwise probe one bucket per query). Empty: the guess is past the head; the hint decides.
    if (max !== undefined) floorBucket = bucket + 1;
    const hinted = num((await this.client.execute(hintQuery, [key], READ)).first()?.get('bucket')) ?? 0;
    const start = Math.max(hinted, floorBucket);
    return this.rememberHead(cacheKey, await this.probeForward(key, start, maxQuery, bucketSize) ?? start * bucketSize);
  }

  /** The highest key from `bucket` on, probing forward while buckets are full; undefined when `bucket` itself is empty and is not the first (bucket 0 empty: the log is). */
  private async probeForward(key: string, bucket: number, maxQuery: string, bucketSize: number): Promise<number | undefined> {
    for (let b = bucket; ; b++) {
      const max = await this.maxIn(key, b, maxQuery);
      if (max === undefined) return b === bucket && b > 0 ? undefined : b * bucketSize;
      if (max < (b + 1) * bucketSize) return max;
    }
  }

  private async maxIn(key: string, bucket: number, maxQuery: string): Promise<number | undefined> {
    return num((await this.client.execute(maxQuery, [key, bucket], READ)).first()?.get(0));
  }

  /** Rows with from <= clustering key <= to of a bucketed log, in order, paging through each bucket. */
  private async readRange(query: string, key: string, from: number, to: number, bucketSize: number): Promise<Row[]> {
    const rows: Row[] = [];
    if (to < from) return rows;
    for (let b = bucketOf(from, bucketSize); b <= bucketOf(to, bucketSize); b++) {
      rows.push(...await this.readAll(query, [key, b, from, to]));
    }
    return rows;
  }

  /** Every row of a query, following the driver's page state (FETCH_SIZE rows per round trip). */
  private async readAll(query: string, params: unknown[]): Promise<Row[]> {
    const rows: Row[] = [];
    let pageState: string | undefined;
    do {
      const result = await this.client.execute(query, params, { ...READ, fetchSize: FETCH_SIZE, ...(pageState ? { pageState } : {}) });
      rows.push(...result.rows);
      pageState = result.pageState ?? undefined;
    } while (pageState);
    return rows;
  }

  /** Runs `fn` after every earlier call queued under `key` has settled. */
  private serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.then(() => undefined, () => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }
}

function statements(ks: string) {
  // Cursor cells are only ever written USING TIMESTAMP upTo + 1 (see advanceCursor), in a table
  // of their own: a cell written at wall-clock time would outrank every later advance.
  const cursorStatements = (column: string) => ({
    set: `UPDATE ${ks}.cursor_marks USING TIMESTAMP ? SET ${column} = ? WHERE chat_id = ? AND user_id = ?`,
  });
  const delivered = cursorStatements('delivered_upto');
  const read = cursorStatements('read_upto');
  return {
    claimSend: `INSERT INTO ${ks}.send_claims (chat_id, sender_id, client_msg_id, owner, trying_seq, msg_id, sender_device_id, body, sent_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
    // Rewrites the whole claim so that all of its columns share one TTL.
    moveSendSlot: `UPDATE ${ks}.send_claims SET trying_seq = ?, owner = ?, msg_id = ?, sender_device_id = ?, body = ?, sent_at_ms = ?
      WHERE chat_id = ? AND sender_id = ? AND client_msg_id = ? IF trying_seq = ?`,
    getSendClaim: `SELECT owner, trying_seq, msg_id, sender_device_id, body, sent_at_ms FROM ${ks}.send_claims
      WHERE chat_id = ? AND sender_id = ? AND client_msg_id = ?`,
    getMessageSender: `SELECT sender_id, client_msg_id FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? AND seq = ?`,
    insertMessage: `INSERT INTO ${ks}.messages (chat_id, bucket, seq, msg_id, sender_id, sender_device_id, client_msg_id, body, sent_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
    readMessages: `SELECT seq, msg_id, sender_id, sender_device_id, client_msg_id, body, sent_at_ms FROM ${ks}.messages
      WHERE chat_id = ? AND bucket = ? AND seq >= ? AND seq <= ?`,
    maxSeqInBucket: `SELECT seq FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? ORDER BY seq DESC LIMIT 1`,
    getChatHead: `SELECT bucket FROM ${ks}.chat_heads WHERE chat_id = ?`,
    setChatHead: `UPDATE ${ks}.chat_heads USING TIMESTAMP ? SET bucket = ? WHERE chat_id = ?`,
    setSenderLast: `UPDATE ${ks}.cursor_marks USING TIMESTAMP ? SET last_sent_seq = ? WHERE chat_id = ? AND user_id = ?`,
    getChatMarks: `SELECT user_id, delivered_upto, read_upto, last_sent_seq, delivered_announced, read_announced FROM ${ks}.cursor_marks WHERE chat_id = ?`,
    setAnnounced: {
      delivered: `UPDATE ${ks}.cursor_marks USING TIMESTAMP ? SET delivered_announced = ? WHERE chat_id = ? AND user_id = ?`,
      read: `UPDATE ${ks}.cursor_marks USING TIMESTAMP ? SET read_announced = ? WHERE chat_id = ? AND user_id = ?`,
    } satisfies Record<CursorKind, string>,
    setCursor: { delivered: delivered.set, read: read.set } satisfies Record<CursorKind, string>,
    getInboxIndex: `SELECT position FROM ${ks}.inbox_index WHERE user_id = ? AND event_key = ?`,
    setInboxIndex: `INSERT INTO ${ks}.inbox_index (user_id, event_key, position) VALUES (?, ?, ?)`,
    getInboxRow: `SELECT event_key FROM ${ks}.inbox WHERE user_id = ? AND bucket = ? AND position = ?`,
    insertInbox: `INSERT INTO ${ks}.inbox (user_id, bucket, position, event_key, event) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS`,
    readInbox: `SELECT position, event_key, event FROM ${ks}.inbox WHERE user_id = ? AND bucket = ? AND position >= ? AND position <= ?`,
    maxPositionInBucket: `SELECT position FROM ${ks}.inbox WHERE user_id = ? AND bucket = ? ORDER BY position DESC LIMIT 1`,
    getInboxHead: `SELECT bucket FROM ${ks}.inbox_heads WHERE user_id = ?`,
    getInboxMarks: `SELECT chat_id, messages_upto, delivered_upto, read_upto FROM ${ks}.inbox_marks WHERE user_id = ?`,
    raiseInboxMark: {
      messages: `UPDATE ${ks}.inbox_marks USING TIMESTAMP ? SET messages_upto = ? WHERE user_id = ? AND chat_id = ?`,
      delivered: `UPDATE ${ks}.inbox_marks USING TIMESTAMP ? SET delivered_upto = ? WHERE user_id = ? AND chat_id = ?`,
      read: `UPDATE ${ks}.inbox_marks USING TIMESTAMP ? SET read_upto = ? WHERE user_id = ? AND chat_id = ?`,
    } satisfies Record<keyof InboxMark, string>,
    setInboxHead: `UPDATE ${ks}.inbox_heads USING TIMESTAMP ? SET bucket = ? WHERE user_id = ?`,
  };
}

/** Sets map[key] to the max of its value and `value`, as the most recently used entry; the least recently used goes past `entriesMax`. */
function remember(map: Map<string, number>, key: string, value: number, entriesMax: number): void {
  const known = map.get(key) ?? 0;
  map.delete(key);
  map.set(key, Math.max(known, value));
  if (map.size > entriesMax) map.delete(map.keys().next().value!);
}

/** Bucket of a seq (or position): seqs 1..size are bucket 0, size+1..2*size bucket 1, ... */
function bucketOf(seq: number, size: number): number {
  return Math.floor((seq - 1) / size);
}

/**
 * Runs a lightweight transaction, retrying when its outcome is unknown (a write or read timeout
 * at SERIAL, or the client's own timeout). Every caller is written so that a repeat is safe: a
 * repeated claim or insert recognises its own row, a repeated CAS reads back its own value.
 */
async function lwt(client: Client, query: string, params: unknown[]): Promise<LwtOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      const row = (await client.execute(query, params, LWT)).first();
      if (!row) throw new Error('lightweight transaction returned no row');
      return { applied: row.get('[applied]') === true, row, retried: attempt > 1 };
    } catch (error) {
      if (attempt >= LWT_ATTEMPTS || !outcomeUnknown(error)) throw error;
    }
  }
}

/** A lightweight transaction's result: when not applied, `row` holds the current values of the conditioned row. */
interface LwtOutcome {
  applied: boolean;
  row: Row;
  /** An earlier attempt timed out: it may have applied. */
  retried: boolean;
}

function outcomeUnknown(error: unknown): boolean {
  if (error instanceof cassandra.errors.OperationTimedOutError) return true;
  if (!(error instanceof cassandra.errors.ResponseError)) return false;
  const codes = cassandra.types.responseErrorCodes;
  return error.code === codes.writeTimeout || error.code === codes.readTimeout || error.code === codes.unavailableException;
}

/** A bigint/int column as a number (the driver returns Long for bigint); undefined for null. */
function num(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (cassandra.types.Long.isLong(value)) return (value as driverTypes.Long).toNumber();
  throw new Error(`expected a number column, got ${typeof value}`);
}

function text(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}
