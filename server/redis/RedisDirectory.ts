import type { Redis } from 'ioredis';
import type { ChatKind, ChatRecord, Directory, FriendRequestOutcome, NewChat, UserRecord } from '../ports/Directory.ts';
import { frozenMap } from '../ports/frozenMap.ts';
import { DEFAULT_REDIS_PREFIX, RedisScript } from './RedisScript.ts';

export interface RedisDirectoryOptions {
  /** Connection for every command. Owned by the caller (may be shared with other adapters). */
  client: Redis;
  /** Namespace of this cluster's keys (default `chatsim:`); keys are `<prefix>dir:...`. */
  prefix?: string;
  /**
   * Most chats whose latest snapshot this process keeps (default 10,000); the least recently
   * read one is dropped first. A cached chat costs one HGET per getChat instead of reading its
   * whole members hash, which matters because chat servers call getChat on every frame. 0
   * turns the cache off (every getChat reads the whole chat).
   */
  cacheChatsMax?: number;
}

export const DIRECTORY_DEFAULTS = {
  cacheChatsMax: 10_000,
} as const;

// Every script below runs atomically, so no reader (in any process) sees half of a write.

// KEYS: user hash. ARGV: name, passwordHash. One script, so two processes creating the same id
// at once cannot both succeed (nor mix their fields).
const CREATE_USER = new RedisScript('directory-create-user', `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'passwordHash', ARGV[2])
return 1
`);

// KEYS: user hash. ARGV: name. Never creates a user.
const UPDATE_PROFILE = new RedisScript('directory-update-profile', `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1])
return 1
`);

// KEYS: chat hash, members hash, then the chats-of set of each distinct member.
// ARGV: chatId, kind, name, createdAtMs, chats-of key prefix, then the member ids (in KEYS order).
// A chat created again under a taken id (two API processes opening the same direct chat at
// once) replaces the old one: its old members leave it first. Their chats-of keys are derived
// here from the old members hash, not declared. The version keeps counting up across the
// replacement (HINCRBY on the existing hash), so no process's cached snapshot of the old chat
// can match the new one's version.
const CREATE_CHAT = new RedisScript('directory-create-chat', `
local old = redis.call('HKEYS', KEYS[2])
for _, user in ipairs(old) do redis.call('SREM', ARGV[5] .. user, ARGV[1]) end
redis.call('DEL', KEYS[2])
for i = 3, #KEYS do
  redis.call('HSET', KEYS[2], ARGV[i + 3], '0')
  redis.call('SADD', KEYS[i], ARGV[1])
end
redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'name', ARGV[3], 'createdAtMs', ARGV[4])
return redis.call('HINCRBY', KEYS[1], 'version', 1)
`);

// KEYS: chat hash, members hash. Reply: {version, kind, name, createdAtMs, {userId, seq, ...}},
// or nil for an unknown chat. One script, so the version always describes the fields read with it.
const READ_CHAT = new RedisScript('directory-read-chat', `
local f = redis.call('HMGET', KEYS[1], 'version', 'kind', 'name', 'createdAtMs')
if not f[1] then return false end
return { f[1], f[2], f[3], f[4], redis.call('HGETALL', KEYS[2]) }
`);

// KEYS: chat hash. ARGV: name.
const RENAME_CHAT = new RedisScript('directory-rename-chat', `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
`);

// KEYS: chat hash, members hash, the user's chats-of set. ARGV: chatId, userId, joinedAtSeq.
const ADD_MEMBER = new RedisScript('directory-add-member', `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return 0 end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
`);

// KEYS: chat hash, members hash, the user's chats-of set. ARGV: chatId, userId.
// A members hash only exists beside its chat hash, so HDEL alone tells whether the user was in.
const REMOVE_MEMBER = new RedisScript('directory-remove-member', `
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
`);

// KEYS: a's friends, b's friends, a's incoming, a's outgoing, b's incoming, b's outgoing
// requests. ARGV: a, b. Both sides or neither; the pending requests between them go.
const ADD_FRIENDS = new RedisScript('directory-add-friends', `
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
return 1
`);

// Same KEYS and ARGV as ADD_FRIENDS, a = from, b = to. Reply: 1 requested, 2 friends (b had
// asked a: accepted), 3 already friends. One script, so two users asking each other at once
// end as friends, never as two crossed pending requests.
const REQUEST_FRIENDSHIP = new RedisScript('directory-request-friendship', `
if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1 then return 3 end
if redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1 then
  redis.call('SADD', KEYS[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[2])
  redis.call('SREM', KEYS[4], ARGV[2])
  redis.call('SREM', KEYS[5], ARGV[1])
  redis.call('SREM', KEYS[6], ARGV[1])
  return 2
end
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2])
return 1
`);

// Same KEYS and ARGV as ADD_FRIENDS, a = the user answering, b = the requester. Reply 1 when
// b's request was pending and is now a friendship, 0 when there was none.
const ACCEPT_FRIENDSHIP = new RedisScript('directory-accept-friendship', `
if redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 0 then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
return 1
`);

// Same KEYS and ARGV as ADD_FRIENDS. Reply: how many of the two directions were pending.
const REMOVE_FRIEND_REQUEST = new RedisScript('directory-remove-friend-request', `
local n = redis.call('SREM', KEYS[3], ARGV[2]) + redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('SREM', KEYS[6], ARGV[1])
return n
`);

/** A cached chat: the snapshot read at `version` of its chat hash. */
interface CachedChat {
  version: number;
  record: ChatRecord;
}

/**
 * Directory on Redis, so gateways, chat servers and the HTTP API running as separate
 * processes share one directory.
 *
 * Key layout (D = prefix + `dir:`):
 * - `D user:<userId>`: hash, `name`, `passwordHash`.
 * - `D chat:<chatId>`: hash, `kind`, `name`, `createdAtMs`, `version`. `version` counts every
 *   write to the chat (create, rename, add or remove a member) and never goes down.
 * - `D members:<chatId>`: hash, userId -> joinedAtSeq. (Not `chat:<chatId>:members`: ids may
 *   contain ":", so that key would also be the chat hash of the chat `<chatId>:members`.)
 * - `D chats-of:<userId>`: set of the chats the user is a member of.
 * - `D friends:<userId>`: set of the user's friends (each friendship is in both users' sets).
 * - `D friend-req-in:<userId>` / `D friend-req-out:<userId>`: sets of the users with a pending
 *   request to / from the user (each request is in both users' sets).
 * Each namespace word is followed by the first ":" after `D`, so no two keys collide whatever
 * the ids.
 *
 * Writes are one Lua script each (one round trip, atomic). createChat's script also touches
 * the chats-of keys of a replaced chat's old members, derived inside it, so this layout needs
 * a standalone Redis (or one shard); it is not Redis Cluster-ready.
 *
 * getChat, called by chat servers on every frame, keeps an LRU-bounded cache of chatId ->
 * {version, snapshot}. A cached chat costs one HGET of its version: the cached snapshot is
 * returned (the same object) when it matches, otherwise the whole chat is read again with one
 * script. Because every write bumps the version before it resolves and versions only grow, a
 * read still reflects every write that resolved before it was called, in any process. A chat
 * that is not cached is read whole at once (one round trip). Snapshots are frozen, members a
 * map whose writes throw, since one snapshot is shared by every caller.
 */
export class RedisDirectory implements Directory {
  private readonly client: Redis;
  private readonly keyPrefix: string;
  private readonly cacheChatsMax: number;
  /** Insertion order is recency order: a hit moves the chat to the end, eviction takes the first. */
  private readonly cache = new Map<string, CachedChat>();

  constructor(options: RedisDirectoryOptions) {
    this.client = options.client;
    this.keyPrefix = `${options.prefix ?? DEFAULT_REDIS_PREFIX}dir:`;
    const cacheChatsMax = options.cacheChatsMax ?? DIRECTORY_DEFAULTS.cacheChatsMax;
    if (!Number.isInteger(cacheChatsMax) || cacheChatsMax < 0) {
      throw new RangeError(`cacheChatsMax must be a non-negative integer, got ${cacheChatsMax}`);
    }
    this.cacheChatsMax = cacheChatsMax;
  }

  async createUser(user: UserRecord): Promise<{ ok: true } | { ok: false; reason: 'exists' }> {
    const created = await CREATE_USER.run(this.client, [this.userKey(user.id)], [user.name, user.passwordHash]);
    return Number(created) === 1 ? { ok: true } : { ok: false, reason: 'exists' };
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const fields = await this.client.hgetall(this.userKey(userId));
    if (fields.name === undefined || fields.passwordHash === undefined) return undefined;
    return { id: userId, name: fields.name, passwordHash: fields.passwordHash };
  }

  async updateProfile(userId: string, profile: { name: string }): Promise<boolean> {
    return Number(await UPDATE_PROFILE.run(this.client, [this.userKey(userId)], [profile.name])) === 1;
  }

  async createChat(chat: NewChat): Promise<ChatRecord> {
    const memberIds = [...new Set(chat.memberIds)];
    const version = await CREATE_CHAT.run(
      this.client,
      [this.chatKey(chat.id), this.membersKey(chat.id), ...memberIds.map((id) => this.chatsOfKey(id))],
      [chat.id, chat.kind, chat.name, chat.createdAtMs, this.keyPrefix + 'chats-of:', ...memberIds],
    );
    const record = snapshot(chat.id, chat.kind, chat.name, chat.createdAtMs, memberIds.map((id) => [id, 0] as const));
    // The script's version is the one these fields were written at, so the record is exact.
    this.remember(chat.id, { version: Number(version), record });
    return record;
  }

  async getChat(chatId: string): Promise<ChatRecord | undefined> {
    const cached = this.cache.get(chatId);
    if (cached) {
      const version = await this.client.hget(this.chatKey(chatId), 'version');
      if (version === null) {
        // Chats are never deleted; kept for a Redis that lost its data (FLUSHDB, a new server).
        this.cache.delete(chatId);
        return undefined;
      }
      if (Number(version) === cached.version) {
        this.remember(chatId, cached);
        return cached.record;
      }
    }
    const reply = await READ_CHAT.run(this.client, [this.chatKey(chatId), this.membersKey(chatId)], []) as
      [string, string, string, string, string[]] | null;
    if (reply === null) {
      this.cache.delete(chatId);
      return undefined;
    }
    const [version, kind, name, createdAtMs, flatMembers] = reply;
    const members: Array<readonly [string, number]> = [];
    for (let i = 0; i < flatMembers.length; i += 2) members.push([flatMembers[i]!, Number(flatMembers[i + 1])]);
    const entry: CachedChat = {
      version: Number(version),
      record: snapshot(chatId, kind as ChatKind, name, Number(createdAtMs), members),
    };
    this.remember(chatId, entry);
    return entry.record;
  }

  async renameChat(chatId: string, name: string): Promise<boolean> {
    return Number(await RENAME_CHAT.run(this.client, [this.chatKey(chatId)], [name])) === 1;
  }

  async addMember(chatId: string, userId: string, joinedAtSeq: number): Promise<boolean> {
    const added = await ADD_MEMBER.run(
      this.client,
      [this.chatKey(chatId), this.membersKey(chatId), this.chatsOfKey(userId)],
      [chatId, userId, joinedAtSeq],
    );
    return Number(added) === 1;
  }

  async removeMember(chatId: string, userId: string): Promise<boolean> {
    const removed = await REMOVE_MEMBER.run(
      this.client,
      [this.chatKey(chatId), this.membersKey(chatId), this.chatsOfKey(userId)],
      [chatId, userId],
    );
    return Number(removed) === 1;
  }

  async chatsOf(userId: string): Promise<string[]> {
    return this.client.smembers(this.chatsOfKey(userId));
  }

  async addFriends(a: string, b: string): Promise<void> {
    // As in the memory directory, nobody is their own friend.
    if (a === b) return;
    await ADD_FRIENDS.run(this.client, this.pairKeys(a, b), [a, b]);
  }

  async requestFriendship(from: string, to: string): Promise<FriendRequestOutcome> {
    if (from === to) return 'self';
    const reply = Number(await REQUEST_FRIENDSHIP.run(this.client, this.pairKeys(from, to), [from, to]));
    return reply === 1 ? 'requested' : reply === 2 ? 'friends' : 'already-friends';
  }

  async acceptFriendship(userId: string, from: string): Promise<boolean> {
    if (userId === from) return false;
    return Number(await ACCEPT_FRIENDSHIP.run(this.client, this.pairKeys(userId, from), [userId, from])) === 1;
  }

  async removeFriendRequest(a: string, b: string): Promise<boolean> {
    if (a === b) return false;
    return Number(await REMOVE_FRIEND_REQUEST.run(this.client, this.pairKeys(a, b), [a, b])) > 0;
  }

  async friendRequestsOf(userId: string): Promise<{ incoming: string[]; outgoing: string[] }> {
    const [incoming, outgoing] = await Promise.all([
      this.client.smembers(this.keyPrefix + 'friend-req-in:' + userId),
      this.client.smembers(this.keyPrefix + 'friend-req-out:' + userId),
    ]);
    return { incoming, outgoing };
  }

  /** The keys every friendship script takes, in its order (see ADD_FRIENDS). */
  private pairKeys(a: string, b: string): string[] {
    const p = this.keyPrefix;
    return [
      this.friendsKey(a), this.friendsKey(b),
      `${p}friend-req-in:${a}`, `${p}friend-req-out:${a}`, `${p}friend-req-in:${b}`, `${p}friend-req-out:${b}`,
    ];
  }

  async friendsOf(userId: string): Promise<string[]> {
    return this.client.smembers(this.friendsKey(userId));
  }

  /**
   * Caches `entry` as the chat's most recently used snapshot, unless a newer version is
   * already cached: reads of one chat may resolve out of order, and an older one finishing
   * last must not replace a newer snapshot (it would cost a needless re-read, never a stale
   * answer, since the version check guards every hit).
   */
  private remember(chatId: string, entry: CachedChat): void {
    if (this.cacheChatsMax === 0) return;
    const current = this.cache.get(chatId);
    const kept = current && current.version > entry.version ? current : entry;
    this.cache.delete(chatId);
    this.cache.set(chatId, kept);
    if (this.cache.size > this.cacheChatsMax) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
  }

  private userKey(userId: string): string {
    return `${this.keyPrefix}user:${userId}`;
  }

  private chatKey(chatId: string): string {
    return `${this.keyPrefix}chat:${chatId}`;
  }

  private membersKey(chatId: string): string {
    return `${this.keyPrefix}members:${chatId}`;
  }

  private chatsOfKey(userId: string): string {
    return `${this.keyPrefix}chats-of:${userId}`;
  }

  private friendsKey(userId: string): string {
    return `${this.keyPrefix}friends:${userId}`;
  }
}

/** A frozen ChatRecord, shared by every caller until a write replaces it. */
function snapshot(
  id: string, kind: ChatKind, name: string, createdAtMs: number, members: Iterable<readonly [string, number]>,
): ChatRecord {
  return Object.freeze({ id, kind, name, createdAtMs, members: frozenMap(members) });
}
