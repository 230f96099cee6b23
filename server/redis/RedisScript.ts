import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet
 * (a fresh server, or after SCRIPT FLUSH / a restart). Scripts run atomically on the server,
 * which is what the Redis adapters rely on for their invariants.
 */
export class RedisScript {
  readonly sha1: string;

  constructor(readonly name: string, readonly source: string) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.call('EVALSHA', this.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.call('EVAL', this.source, keys.length, ...keys, ...args);
    }
  }
}

/** Lua: the Redis server's clock in ms since the epoch (TIME), so every process agrees on it. */
export const LUA_NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ms_string(n)
  return string.format('%.0f', n)
end
`;

/** The default key prefix of every Redis adapter. */
export const DEFAULT_REDIS_PREFIX = 'chatsim:';
