/**
 * Users, profiles, chats, memberships and friend lists (Cassandra or PostgreSQL in
 * production; read on every frame, so implementations should cache).
 *
 * Contract:
 * - `createUser` fails with `exists` when the id is taken; ids are case-sensitive.
 * - A chat's members are a set; `joinedAtSeq` is the chat's head when the member joined, so
 *   group ticks count a member only for messages sent after they joined.
 * - Friendship is symmetric and by consent: `requestFriendship(a, b)` records a pending
 *   request a -> b, unless b already asked a, in which case it accepts that request instead;
 *   `acceptFriendship(b, a)` turns a pending a -> b into a friendship. A friendship removes
 *   the pending requests between the two in both directions. `addFriends(a, b)` makes each a
 *   friend of the other at once (admin provisioning only). Nobody is their own friend or
 *   their own requester (those calls change nothing and answer 'self').
 * - `removeFriendRequest(a, b)` deletes the pending request between a and b, in whichever
 *   direction it is (decline or cancel), and says whether there was one.
 * - Reads reflect every write that resolved before they were called. A returned ChatRecord
 *   is an immutable snapshot: later writes never change it (they replace the stored record).
 */
export interface Directory {
  createUser(user: UserRecord): Promise<{ ok: true } | { ok: false; reason: 'exists' }>;
  getUser(userId: string): Promise<UserRecord | undefined>;
  updateProfile(userId: string, profile: { name: string }): Promise<boolean>;
  createChat(chat: NewChat): Promise<ChatRecord>;
  getChat(chatId: string): Promise<ChatRecord | undefined>;
  renameChat(chatId: string, name: string): Promise<boolean>;
  addMember(chatId: string, userId: string, joinedAtSeq: number): Promise<boolean>;
  removeMember(chatId: string, userId: string): Promise<boolean>;
  chatsOf(userId: string): Promise<string[]>;
  addFriends(a: string, b: string): Promise<void>;
  friendsOf(userId: string): Promise<string[]>;
  requestFriendship(from: string, to: string): Promise<FriendRequestOutcome>;
  acceptFriendship(userId: string, from: string): Promise<boolean>;
  removeFriendRequest(a: string, b: string): Promise<boolean>;
  /** Pending requests to the user (`incoming`) and by the user (`outgoing`). */
  friendRequestsOf(userId: string): Promise<{ incoming: string[]; outgoing: string[] }>;
}

/**
 * What a friend request did: recorded and pending ('requested'), made a friendship because
 * the other had asked first ('friends'), found them friends already ('already-friends'), or
 * nothing because both are the same user ('self').
 */
export type FriendRequestOutcome = 'requested' | 'friends' | 'already-friends' | 'self';

export interface UserRecord {
  id: string;
  name: string;
  /** scrypt or similar hash with its salt; never the password. */
  passwordHash: string;
}

export type ChatKind = 'direct' | 'group';

export interface NewChat {
  id: string;
  kind: ChatKind;
  name: string;
  memberIds: string[];
  createdAtMs: number;
}

export interface ChatRecord {
  readonly id: string;
  readonly kind: ChatKind;
  readonly name: string;
  /**
   * userId -> the chat head seq when they joined. Read-only: a record is a snapshot that
   * implementations may share between callers (no copy of a 1,000-member map per frame).
   */
  readonly members: ReadonlyMap<string, number>;
  readonly createdAtMs: number;
}
