/**
 * The Lua scripts of RedisInboundQueue (key layout and the turn scheme: RedisInboundQueue.ts),
 * and the parsing of the stream replies its consumers read.
 */
import { RedisScript } from './RedisScript.ts';

// Shared Lua: is the turn (stream entry ARGV[2]) pending for this consumer (ARGV[3]) in group ARGV[4]?
const OWNS = `
local function owns(turns, id, consumer, group)
  return #redis.call('XPENDING', turns, group, id, id, 1, consumer) > 0
end
`;

// KEYS: turns, lane. ARGV: key, payload, maxPendingPerKey. A lane going from empty to one
// entry gets a turn; otherwise its turn already exists (queued or held by a consumer).
export const ENQUEUE = new RedisScript('queue-enqueue', `
local n = redis.call('LLEN', KEYS[2])
if n >= tonumber(ARGV[3]) then return { 0, n } end
redis.call('RPUSH', KEYS[2], ARGV[2])
if n == 0 then redis.call('XADD', KEYS[1], '*', 'k', ARGV[1]) end
return { 1, n + 1 }
`);

// KEYS: turns, lane, attempts. ARGV: key, turn id, consumer, group.
// Hands out the lane's head: { payload, redeliveries }, or nil when the turn is not ours.
export const BEGIN = new RedisScript('queue-begin', `${OWNS}
if not owns(KEYS[1], ARGV[2], ARGV[3], ARGV[4]) then return false end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  redis.call('XACK', KEYS[1], ARGV[4], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return false
end
local attempts = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
return { head, attempts - 1 }
`);

// KEYS: turns, lane, attempts. ARGV: key, turn id, consumer, group, continue (1|0).
// Acknowledges the lane's head. Replies {0} (not our turn any more: nothing acknowledged),
// {1} (turn ended: lane empty, or handed to the end of the turn stream), or
// {2, payload, redeliveries} (the turn goes on here with the next entry).
export const ACK = new RedisScript('queue-ack', `${OWNS}
if not owns(KEYS[1], ARGV[2], ARGV[3], ARGV[4]) then return { 0 } end
redis.call('LPOP', KEYS[2])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('LLEN', KEYS[2]) > 0 and ARGV[5] == '1' then
  redis.call('XCLAIM', KEYS[1], ARGV[4], ARGV[3], 0, ARGV[2], 'JUSTID')
  local attempts = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
  return { 2, redis.call('LINDEX', KEYS[2], 0), attempts - 1 }
end
redis.call('XACK', KEYS[1], ARGV[4], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('LLEN', KEYS[2]) > 0 then redis.call('XADD', KEYS[1], '*', 'k', ARGV[1]) end
return { 1 }
`);

// KEYS: turns, attempts. ARGV: key, turn id, consumer, group, undo (1|0).
// Hands the turn back to the end of the turn stream without acknowledging the head (after a
// handler failed, or when a stopping consumer got a turn it will not process). `undo` takes
// back the hand-out BEGIN/ACK counted for a head that never reached a handler.
export const RELEASE = new RedisScript('queue-release', `${OWNS}
if not owns(KEYS[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
if ARGV[5] == '1' and redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
redis.call('XACK', KEYS[1], ARGV[4], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[1], '*', 'k', ARGV[1])
return 1
`);

// KEYS: turns. ARGV: consumer, group, turn ids... Resets the idle time of the turns still
// ours (XCLAIM JUSTID does not count a delivery) and replies with their ids.
export const RENEW = new RedisScript('queue-renew', `${OWNS}
local kept = {}
for i = 3, #ARGV do
  if owns(KEYS[1], ARGV[i], ARGV[1], ARGV[2]) then
    redis.call('XCLAIM', KEYS[1], ARGV[2], ARGV[1], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
`);

// KEYS: turns, lane, attempts, dead. ARGV: key, turn id, consumer, group, attempts, reason, deadLettersMax.
// Moves the lane's head to the dead stream (trimmed to deadLettersMax) and ends the turn as
// ACK does, handing a new turn to the end of the turn stream if the lane has more. Replies
// with the dead stream entry's id, or nil when the turn is not ours (nothing changed).
export const DEAD_LETTER = new RedisScript('queue-dead-letter', `${OWNS}
if not owns(KEYS[1], ARGV[2], ARGV[3], ARGV[4]) then return false end
local head = redis.call('LPOP', KEYS[2])
if not head then return false end
redis.call('HDEL', KEYS[3], ARGV[1])
local id = redis.call('XADD', KEYS[4], 'MAXLEN', ARGV[7], '*', 'k', ARGV[1], 'p', head, 'a', ARGV[5], 'r', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[4], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('LLEN', KEYS[2]) > 0 then redis.call('XADD', KEYS[1], '*', 'k', ARGV[1]) end
return id
`);

// KEYS: turns. ARGV: group, consumer. Deletes the consumer from the group if it holds nothing.
export const FORGET_CONSUMER = new RedisScript('queue-forget-consumer', `
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
`);

/**
 * XREADGROUP's reply as [stream, entries] pairs. Over RESP2 it is an array of such pairs;
 * over RESP3 (ioredis 6's default) it is a map, which `call` hands back flattened as
 * [stream, entries, stream, entries, ...].
 */
export function streamReadReply(reply: unknown): Array<[string, Array<[string, string[]]>]> {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (!Array.isArray(reply[0])) {
    const pairs: Array<[string, Array<[string, string[]]>]> = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1] as Array<[string, string[]]>]);
    return pairs;
  }
  return reply as Array<[string, Array<[string, string[]]>]>;
}

export function fieldOf(fields: readonly string[], name: string): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
  throw new Error(`turn without field ${name}`);
}
