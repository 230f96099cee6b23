/**
 * Messages, cursors and per-user inboxes (Cassandra in production).
 *
 * Contract:
 * - `append` is idempotent on (chatId, senderId, clientMsgId): the first call stores the
 *   message and gives it the chat's next sequence number; a repeat returns the stored
 *   message with `created: false` and stores nothing. Sequence numbers of a chat start at 1
 *   and are contiguous (no gaps, no reuse). `msgId` is time-ordered and unique. A message
 *   row is never updated once written.
 * - `append` resolves only once the message is durable in this store.
 * - `findSend` reads, without writing, the message `append` stored under (chatId, senderId,
 *   clientMsgId): what a repeat of that append would return, or undefined when none is placed
 *   (never sent, or a first append still under way). It never stores or finishes anything: the
 *   chat server answers a retry from a sender who has left the chat with it (docs/protocol.md).
 * - `readChat` returns messages with seq > afterSeq in ascending order, at most `limit`,
 *   and `hasMore` when more exist up to the head at the time of the call.
 * - Cursors are per (chat, user, kind), cumulative and never decrease: `advanceCursor`
 *   stores max(current, upTo) and returns `before` and `after` with after >= upTo and
 *   after >= before; `before === after` means the cursor did not move (it already covered
 *   upTo, or a first advance to 0). A store may write without reading: `before` is then the value it last saw
 *   (exact for a store's own writes), and another writer may have moved the cursor further
 *   than `after`, so `after > before` means "may have moved", and getCursors is the truth.
 * - Announced ticks are per (chat, sender, kind): the highest receipt `upTo` a chat server told
 *   the sender, so that no chat server tells it again (server/chat/ChatServer.ts). Monotone like
 *   cursors: `raiseAnnounced` keeps the max of every value given, from any process, and
 *   `tickState` returns them (senders never told anything are absent).
 * - The inbox is a per-user append-only event log with positions starting at 1.
 *   `appendInbox` is idempotent on (userId, eventKey): a repeat returns the first position.
 * - Inbox marks say how far each chat has been copied into a user's inbox (the inbox is filled
 *   when read: server/chat/InboxMaterializer.ts). `raiseInboxMark` keeps, field by field, the
 *   max of every value given; `getInboxMarks` returns every chat marked for the user.
 * - `epoch` names this store's history. If history is ever reset, the epoch changes and
 *   clients holding positions of the old epoch must start over.
 */
export interface MessageStore {
  readonly epoch: string;
  append(input: AppendInput): Promise<AppendResult>;
  /** The message stored by an append with this key, if it is placed; reads only (see the contract). */
  findSend(chatId: string, senderId: string, clientMsgId: string): Promise<StoredMessage | undefined>;
  readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage>;
  headSeq(chatId: string): Promise<number>;
  /** Whether the chat's head is at least `seq` (true for seq <= 0): what a receipt's bound check needs, often known without a read. */
  reaches(chatId: string, seq: number): Promise<boolean>;
  advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance>;
  /** Every user's cursors in a chat; users with none are absent. */
  getCursors(chatId: string): Promise<Map<string, UserCursors>>;
  /** getCursors, each sender's latest seq and the announced ticks of one chat together (what a tick computation reads; one read on Cassandra). */
  tickState(chatId: string): Promise<TickState>;
  /** Records that `userId` was told their `kind` tick in the chat up to `upTo` (keeps the max). */
  raiseAnnounced(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<void>;
  appendInbox(userId: string, eventKey: string, event: InboxEvent): Promise<number>;
  readInbox(userId: string, afterPosition: number, limit: number): Promise<InboxPage>;
  getInboxMarks(userId: string): Promise<Map<string, InboxMark>>;
  raiseInboxMark(userId: string, chatId: string, mark: InboxMark): Promise<void>;
}

/** How far a chat is copied into a user's inbox: its messages up to a seq, and the ticks of the user's own messages. */
export interface InboxMark {
  messages: number;
  delivered: number;
  read: number;
}

export type CursorKind = 'delivered' | 'read';

export interface AppendInput {
  chatId: string;
  senderId: string;
  senderDeviceId: string;
  clientMsgId: string;
  body: string;
  /** Time-ordered id chosen by the chat server (a Snowflake-like id); kept, never used for order. */
  msgId: string;
  sentAtMs: number;
}

export interface StoredMessage {
  chatId: string;
  seq: number;
  msgId: string;
  senderId: string;
  senderDeviceId: string;
  clientMsgId: string;
  body: string;
  sentAtMs: number;
}

export interface AppendResult {
  message: StoredMessage;
  created: boolean;
}

export interface ChatPage {
  messages: StoredMessage[];
  headSeq: number;
  hasMore: boolean;
}

export interface UserCursors {
  delivered: number;
  read: number;
}

export interface TickState {
  cursors: Map<string, UserCursors>;
  lastSeqBySender: Map<string, number>;
  /** Per sender, the highest tick of each kind announced to them (0 for a kind never announced); senders never told are absent. */
  announced: Map<string, UserCursors>;
}

export interface CursorAdvance {
  before: number;
  after: number;
}

/** An event in a user's inbox (the sync-token timeline). */
export type InboxEvent =
  | { kind: 'message'; message: StoredMessage }
  | { kind: 'receipt'; chatId: string; userId: string; cursor: CursorKind; upTo: number }
  | { kind: 'member_added'; chatId: string; userId: string }
  | { kind: 'member_removed'; chatId: string; userId: string }
  | { kind: 'chat_renamed'; chatId: string; name: string }
  | { kind: 'profile_changed'; userId: string; name: string };

export interface InboxPage {
  events: Array<{ position: number; event: InboxEvent }>;
  headPosition: number;
  hasMore: boolean;
}
