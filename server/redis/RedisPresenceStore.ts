import type { Redis } from 'ioredis';
import type { PresenceEntry, PresenceStore, UserPresence } from '../ports/PresenceStore.ts';
import { DEFAULT_REDIS_PREFIX, LUA_NOW_MS, RedisScript } from './RedisScript.ts';

export interface RedisPresenceStoreOptions {
  /** Connection for every command. Owned by the caller (may be shared with other adapters). */
  client: Redis;
  /** Namespace of this cluster's keys (default `chatsim:`); keys are `<prefix>presence:...`. */
  prefix?: string;
  /**
   * How long after its expiry an entry's data is kept for the sweep, in ms (default
   * 86,400,000 = 24 h). It is the Redis TTL margin of a user's entry hash (the hash expires
   * this long after its latest entry's deadline), a safety net so a cluster that stopped
   * sweeping does not leak keys. An entry not swept within it is dropped by the next sweep
   * without being returned (its device and gateway are gone with the hash).
   */
  unsweptRetentionMs?: number;
  /**
   * How long a user's last disconnect time is kept, in ms (default 2,592,000,000 = 30 days);
   * after that the user reads as never seen.
   */
  lastSeenRetentionMs?: number;
  /** Most expired entries one sweep script claims before yielding Redis to other clients (default 1,000). */
  sweepBatchSize?: number;
  /**
   * Most users one getMany script reads (default 256). Larger lookups are split into several
   * scripts sent together, so they still take one round trip but never block Redis for long.
   */
  getManyBatchUsers?: number;
}

export const PRESENCE_DEFAULTS = {
  unsweptRetentionMs: 24 * 60 * 60 * 1000,
  lastSeenRetentionMs: 30 * 24 * 60 * 60 * 1000,
  sweepBatchSize: 1_000,
  getManyBatchUsers: 256,
} as const;

// Entry values in a user's hash are "<deadline ms> <entry JSON>".
const PUT = new RedisScript('presence-put', `${LUA_NOW_MS}
local now = now_ms()
local deadline = now + tonumber(ARGV[3])
if redis.call('HSET', KEYS[1], ARGV[1], ms_string(deadline) .. ' ' .. ARGV[2]) == 1 then redis.call('SADD', KEYS[3], ARGV[6]) end
redis.call('ZADD', KEYS[2], deadline, ARGV[4])
local keep_until = deadline + tonumber(ARGV[5])
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 or now + pttl < keep_until then redis.call('PEXPIREAT', KEYS[1], ms_string(keep_until)) end
return 1
`);

// The first reader after a start (or a restart that lost every key) names the contents by the
// Redis server's clock in microseconds: a restart is later, so the name is new.
const EPOCH = new RedisScript('presence-epoch', `
local e = redis.call('GET', KEYS[1])
if e then return e end
local t = redis.call('TIME')
e = 'redis-' .. t[1] .. '.' .. t[2]
redis.call('SET', KEYS[1], e)
return e
`);

const REFRESH = new RedisScript('presence-refresh', `${LUA_NOW_MS}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local now = now_ms()
local sp = string.find(v, ' ', 1, true)
-- An expired entry is gone even before a sweep removes it: refreshing must not revive it.
if tonumber(string.sub(v, 1, sp - 1)) <= now then return 0 end
local deadline = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ms_string(deadline) .. string.sub(v, sp))
redis.call('ZADD', KEYS[2], deadline, ARGV[3])
local keep_until = deadline + tonumber(ARGV[4])
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 or now + pttl < keep_until then redis.call('PEXPIREAT', KEYS[1], ms_string(keep_until)) end
return 1
`);

const REMOVE = new RedisScript('presence-remove', `${LUA_NOW_MS}
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SET', KEYS[3], ms_string(now_ms()), 'PX', ARGV[3])
end
return 1
`);

// KEYS: user hash, last-disconnect key, for each user. Reply per user: {awaitingSweep 0|1, last or '', {live entry JSON...}, now}.
const GET_MANY = new RedisScript('presence-get-many', `${LUA_NOW_MS}
local now = now_ms()
local out = {}
for i = 1, #KEYS, 2 do
  local flat = redis.call('HGETALL', KEYS[i])
  local live = {}
  local unswept = 0
  for j = 2, #flat, 2 do
    local v = flat[j]
    local sp = string.find(v, ' ', 1, true)
    if tonumber(string.sub(v, 1, sp - 1)) > now then live[#live + 1] = string.sub(v, sp + 1) else unswept = 1 end
  end
  local last = ''
  if #live == 0 and unswept == 0 then last = redis.call('GET', KEYS[i + 1]) or '' end
  out[#out + 1] = { unswept, last, live, ms_string(now) }
end
return out
`);

// KEYS: expiry sorted set. ARGV: user hash key prefix, last-disconnect key prefix, batch size, last-seen retention.
// Members are "<byte length of userId>:<userId><connectionId>". The script is atomic, so each
// expired member is claimed (ZREM) by exactly one sweep however many run at once.
const SWEEP = new RedisScript('presence-sweep', `${LUA_NOW_MS}
local now = now_ms()
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
local touched = {}
for _, m in ipairs(members) do
  redis.call('ZREM', KEYS[1], m)
  local colon = string.find(m, ':', 1, true)
  local len = tonumber(string.sub(m, 1, colon - 1))
  local user = string.sub(m, colon + 1, colon + len)
  local conn = string.sub(m, colon + len + 1)
  local ukey = ARGV[1] .. user
  local v = redis.call('HGET', ukey, conn)
  if v then
    local sp = string.find(v, ' ', 1, true)
    local deadline = tonumber(string.sub(v, 1, sp - 1))
    if deadline > now then
      -- Never expected (every script moves both together); keep the entry and its deadline.
      redis.call('ZADD', KEYS[1], deadline, m)
    else
      redis.call('HDEL', ukey, conn)
      out[#out + 1] = string.sub(v, sp + 1)
      touched[user] = true
    end
  else
    touched[user] = true
  end
end
for user in pairs(touched) do
  if redis.call('HLEN', ARGV[1] .. user) == 0 then
    redis.call('SET', ARGV[2] .. user, ms_string(now), 'PX', ARGV[4])
  end
end
return { #members, out }
`);

/**
 * PresenceStore on Redis. Expiry is judged by the Redis server's clock (TIME inside the
 * scripts), so every gateway and presence worker agrees on it whatever their own clocks say.
 *
 * Key layout (P = prefix + `presence:`):
 * - `P user:<userId>`: hash, connectionId -> "<deadline ms> <entry JSON>". Its Redis TTL is
 *   set on put and pushed out on refresh to the latest deadline + `unsweptRetentionMs`.
 * - `P expiry`: sorted set of every entry, member "<len(userId)>:<userId><connectionId>",
 *   scored by its deadline (Redis time). The sweep claims due members with ZREM inside a
 *   script, so each expired entry is returned by exactly one sweeper, including entries of a
 *   gateway that died without a word.
 * - `P last:<userId>`: the user's last disconnect (ms, Redis time), with TTL `lastSeenRetentionMs`.
 * - `P changed`: set of users with an entry created or removed since `sweepChanged` last
 *   popped them (SADD in the put and remove scripts, SPOP by the sweep); at most one member per user.
 * - `P epoch`: the name of the store's contents, set by the first `epoch` read; no TTL, so
 *   only a Redis that lost its keys names them anew.
 *
 * Each operation is one Lua script (one round trip, atomic). The sweep script touches user
 * keys it derives from the sorted set's members, so this layout needs a standalone Redis (or
 * one shard); it is not Redis Cluster-ready.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly client: Redis;
  private readonly keyPrefix: string;
  private readonly options: Required<Omit<RedisPresenceStoreOptions, 'client' | 'prefix'>>;

  constructor(options: RedisPresenceStoreOptions) {
    this.client = options.client;
    this.keyPrefix = `${options.prefix ?? DEFAULT_REDIS_PREFIX}presence:`;
    this.options = {
      unsweptRetentionMs: options.unsweptRetentionMs ?? PRESENCE_DEFAULTS.unsweptRetentionMs,
      lastSeenRetentionMs: options.lastSeenRetentionMs ?? PRESENCE_DEFAULTS.lastSeenRetentionMs,
      sweepBatchSize: options.sweepBatchSize ?? PRESENCE_DEFAULTS.sweepBatchSize,
      getManyBatchUsers: options.getManyBatchUsers ?? PRESENCE_DEFAULTS.getManyBatchUsers,
    };
  }

  async put(entry: PresenceEntry, ttlMs: number): Promise<void> {
    const stored: PresenceEntry = {
      userId: entry.userId,
      connectionId: entry.connectionId,
      deviceId: entry.deviceId,
      gatewayId: entry.gatewayId,
    };
    await PUT.run(this.client, [this.userKey(entry.userId), this.expiryKey(), this.changedKey()], [
      entry.connectionId, JSON.stringify(stored), Math.max(0, Math.ceil(ttlMs)), member(entry.userId, entry.connectionId),
      this.options.unsweptRetentionMs, entry.userId,
    ]);
  }

  async refresh(userId: string, connectionId: string, ttlMs: number): Promise<boolean> {
    const reply = await REFRESH.run(this.client, [this.userKey(userId), this.expiryKey()], [
      connectionId, Math.max(0, Math.ceil(ttlMs)), member(userId, connectionId), this.options.unsweptRetentionMs,
    ]);
    return Number(reply) === 1;
  }

  async remove(userId: string, connectionId: string): Promise<boolean> {
    const reply = await REMOVE.run(this.client, [this.userKey(userId), this.expiryKey(), this.lastKey(userId), this.changedKey()], [
      connectionId, member(userId, connectionId), this.options.lastSeenRetentionMs, userId,
    ]);
    return Number(reply) === 1;
  }

  async getMany(userIds: readonly string[]): Promise<Map<string, UserPresence>> {
    const unique = [...new Set(userIds)];
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += this.options.getManyBatchUsers) {
      batches.push(unique.slice(i, i + this.options.getManyBatchUsers));
    }
    // Sent back to back on one connection: one round trip however many batches.
    const replies = await Promise.all(batches.map((batch) =>
      GET_MANY.run(this.client, batch.flatMap((u) => [this.userKey(u), this.lastKey(u)]), [])));
    const result = new Map<string, UserPresence>();
    batches.forEach((batch, b) => {
      const rows = replies[b] as Array<[number, string, string[], string]>;
      batch.forEach((userId, i) => {
        const [unswept, last, live, now] = rows[i]!;
        const presence: UserPresence = { entries: live.map((json) => JSON.parse(json) as PresenceEntry) };
        if (live.length === 0 && Number(unswept) === 1) presence.awaitingSweep = true;
        else if (live.length === 0 && last !== '') {
          presence.lastDisconnectAtMs = Number(last);
          presence.lastDisconnectAgeMs = Math.max(0, Number(now) - Number(last)); // both Redis time
        }
        result.set(userId, presence);
      });
    });
    return result;
  }

  async sweepExpired(): Promise<PresenceEntry[]> {
    const expired: PresenceEntry[] = [];
    for (;;) {
      const [claimed, entries] = await SWEEP.run(this.client, [this.expiryKey()], [
        this.keyPrefix + 'user:', this.keyPrefix + 'last:', this.options.sweepBatchSize, this.options.lastSeenRetentionMs,
      ]) as [number, string[]];
      for (const json of entries) expired.push(JSON.parse(json) as PresenceEntry);
      if (Number(claimed) < this.options.sweepBatchSize) return expired;
    }
  }

  /** SPOP with a count is atomic: each changed user goes to exactly one of several sweepers. */
  async sweepChanged(maxUsers: number): Promise<string[]> {
    if (maxUsers <= 0) return [];
    return this.client.spop(this.changedKey(), maxUsers);
  }

  async epoch(): Promise<string> {
    return String(await EPOCH.run(this.client, [`${this.keyPrefix}epoch`], []));
  }

  private changedKey(): string {
    return `${this.keyPrefix}changed`;
  }

  private userKey(userId: string): string {
    return `${this.keyPrefix}user:${userId}`;
  }

  private lastKey(userId: string): string {
    return `${this.keyPrefix}last:${userId}`;
  }

  private expiryKey(): string {
    return `${this.keyPrefix}expiry`;
  }
}

/** The expiry set's member for an entry; the length prefix makes it unambiguous. */
function member(userId: string, connectionId: string): string {
  return `${Buffer.byteLength(userId, 'utf8')}:${userId}${connectionId}`;
}
