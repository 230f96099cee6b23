import { Redis } from 'ioredis';
import { applySchema, isValidKeyspaceName } from '../cassandra/applySchema.ts';
import { createCassandraClient, DEFAULT_CASSANDRA } from '../cassandra/client.ts';
import type { BackendChoice, BackendConfig } from './openBackends.ts';

export interface ProvisionOptions {
  choice: BackendChoice;
  /** `redis://...` of a running server, or 'local' to start one (redis-memory-server with the system redis-server). */
  redis?: string;
  /** HOST:PORT of a Cassandra node (default 127.0.0.1:9042). */
  cassandra?: string;
  /** Keyspace to use (created with the schema if missing, kept at cleanup). Default: a fresh one, dropped at cleanup. */
  keyspace?: string;
  /** Redis namespace to use (kept at cleanup). Default: a fresh `chatsim:<random>:`, its keys deleted at cleanup. */
  redisPrefix?: string;
  queueClaimIdleMs?: number;
}

export interface ProvisionedBackends {
  config: BackendConfig;
  /** Drops what provisioning created (a fresh keyspace, a fresh prefix's keys, a local Redis); keeps what it was given. */
  cleanup(): Promise<void>;
}

/**
 * Gets the real servers a cluster's chosen ports need ready for it: a Redis (started locally
 * when asked) and a namespace in it, a Cassandra keyspace with the schema applied. Each cluster
 * gets a namespace of its own by default, so runs that share the servers never see each
 * other's users, chats or messages (their ids come from the seed and would collide).
 *
 * Errors are thrown with the server's address in the message: an unreachable Redis or
 * Cassandra is the run's `BACKEND_UNREACHABLE`.
 */
export async function provisionBackends(options: ProvisionOptions): Promise<ProvisionedBackends> {
  const { choice } = options;
  if (options.keyspace !== undefined && !isValidKeyspaceName(options.keyspace)) throw new Error(`invalid keyspace name: ${options.keyspace}`);
  const suffix = randomSuffix();
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  const config: BackendConfig = { choice: { ...choice }, ...(options.queueClaimIdleMs ? { queueClaimIdleMs: options.queueClaimIdleMs } : {}) };
  try {
    if (Object.values(choice).includes('redis')) {
      const redisUrl = await redisUrlFor(options.redis ?? 'local', cleanups);
      await assertRedisReachable(redisUrl);
      config.redisUrl = redisUrl;
      config.redisPrefix = options.redisPrefix ?? `chatsim:${suffix}:`;
      if (!options.redisPrefix && options.redis !== 'local' && options.redis !== undefined) {
        const prefix = config.redisPrefix;
        cleanups.push(() => deleteKeys(redisUrl, prefix));
      }
    }
    if (choice.store === 'cassandra') {
      const contactPoint = options.cassandra ?? DEFAULT_CASSANDRA;
      const keyspace = options.keyspace ?? `chatsim_${suffix}`;
      const client = createCassandraClient(contactPoint);
      try {
        await client.connect();
      } catch (error) {
        await client.shutdown().catch(() => undefined);
        throw new Error(`Cassandra at ${contactPoint} is unreachable: ${(error as Error).message.split('\n')[0]}`, { cause: error });
      }
      try {
        await applySchema(client, keyspace);
      } finally {
        await client.shutdown().catch(() => undefined);
      }
      if (!options.keyspace) cleanups.push(() => dropKeyspace(contactPoint, keyspace));
      config.cassandra = contactPoint;
      config.keyspace = keyspace;
    }
    return { config, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function redisUrlFor(redis: string, cleanups: Array<() => Promise<void>>): Promise<string> {
  if (redis !== 'local') return redis;
  // Imported here: only a cluster that starts its own Redis needs the package.
  const { RedisMemoryServer } = await import('redis-memory-server');
  const server = await RedisMemoryServer.create();
  cleanups.push(async () => { await server.stop(); });
  return `redis://${await server.getHost()}:${await server.getPort()}`;
}

async function assertRedisReachable(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(`Redis at ${url} is unreachable: ${(error as Error).message}`, { cause: error });
  } finally {
    client.disconnect();
  }
}

async function dropKeyspace(contactPoint: string, keyspace: string): Promise<void> {
  const client = createCassandraClient(contactPoint);
  try {
    await client.connect();
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

/** 8 hex characters from the OS's randomness: a cluster's namespace must not collide with another run's. */
function randomSuffix(): string {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!.toString(16).padStart(8, '0');
}

/** Deletes every key under `prefix` (SCAN, not KEYS, so a shared server is not blocked). */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
