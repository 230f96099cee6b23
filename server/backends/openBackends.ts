import { Redis } from 'ioredis';
import type { Client } from 'cassandra-driver';
import type { ClusterBackends } from '../Cluster.ts';
import type { Closable } from '../ports/Closable.ts';
import type { TimeSource } from '../ports/Clock.ts';
import { CassandraMessageStore } from '../cassandra/CassandraMessageStore.ts';
import { createCassandraClient } from '../cassandra/client.ts';
import { MemoryBroker } from '../memory/MemoryBroker.ts';
import { MemoryDirectory } from '../memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from '../memory/MemoryInboundQueue.ts';
import { MemoryMessageStore } from '../memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from '../memory/MemoryPresenceStore.ts';
import { RedisBroker } from '../redis/RedisBroker.ts';
import { RedisDirectory } from '../redis/RedisDirectory.ts';
import { RedisInboundQueue } from '../redis/RedisInboundQueue.ts';
import { RedisPresenceStore } from '../redis/RedisPresenceStore.ts';

/** Which implementation backs each port. Memory ones live in one process and cannot be shared. */
export interface BackendChoice {
  broker: 'memory' | 'redis';
  queue: 'memory' | 'redis';
  presence: 'memory' | 'redis';
  directory: 'memory' | 'redis';
  store: 'memory' | 'cassandra';
}

export const ALL_REAL: Readonly<BackendChoice> = { broker: 'redis', queue: 'redis', presence: 'redis', directory: 'redis', store: 'cassandra' };

/** Where the real backends are and which namespace this cluster uses in them. Plain data: it crosses process boundaries. */
export interface BackendConfig {
  choice: BackendChoice;
  /** `redis://host:port[/db]`; needed when any port is on Redis. */
  redisUrl?: string;
  /** Key and channel namespace in Redis, e.g. `chatsim:run-ab12:` (distinct per cluster sharing a server). */
  redisPrefix?: string;
  /** HOST:PORT of a Cassandra node; needed when the store is on Cassandra. */
  cassandra?: string;
  /** Keyspace of the message store; its schema must already be applied (server/cassandra/applySchema.ts). */
  keyspace?: string;
  /**
   * How long a chat server's queue turn may sit idle before another claims it, in ms: how long
   * the frames of a killed chat server wait (RedisInboundQueue's claimIdleMs, default 10,000).
   */
  queueClaimIdleMs?: number;
}

export type PortName = keyof ClusterBackends;

export interface OpenedBackends {
  backends: Partial<ClusterBackends>;
  /** Closes the ports that hold connections of their own (Closable), then the connections this call opened. */
  close(): Promise<void>;
}

/**
 * Opens the ports named in `need` with the chosen implementations (a gateway needs no store, so
 * it opens no Cassandra session). Memory ports are new, empty instances: only good inside one
 * process. One Redis connection is shared by the Redis ports (each broker and queue consumer
 * duplicates it for its blocking or subscriber traffic); one Cassandra session by the store.
 */
export async function openBackends(config: BackendConfig, time: TimeSource, need: readonly PortName[]): Promise<OpenedBackends> {
  const { choice } = config;
  const wants = (port: PortName): boolean => need.includes(port);
  const usesRedis = need.some((port) => choice[port] === 'redis');
  let redis: Redis | undefined;
  let cassandra: Client | undefined;
  const closables: Closable[] = [];
  const close = async (): Promise<void> => {
    for (const port of closables.splice(0)) await port.close().catch(() => undefined);
    await redis?.quit().catch(() => redis?.disconnect());
    await cassandra?.shutdown().catch(() => undefined);
  };
  try {
    if (usesRedis) {
      if (!config.redisUrl) throw new Error('a Redis URL is needed for the Redis-backed ports');
      redis = new Redis(config.redisUrl, { lazyConnect: true });
      redis.on('error', () => undefined); // ioredis reconnects by itself; commands fail meanwhile
      await redis.connect();
    }
    const prefix = config.redisPrefix;
    const backends: Partial<ClusterBackends> = {};
    if (wants('broker')) {
      const redisBroker = redis && choice.broker === 'redis' ? new RedisBroker({ client: redis, prefix }) : undefined;
      if (redisBroker) closables.push(redisBroker);
      backends.broker = redisBroker ?? new MemoryBroker();
    }
    if (wants('queue')) {
      backends.queue = redis && choice.queue === 'redis'
        ? new RedisInboundQueue({ client: redis, time, prefix, ...(config.queueClaimIdleMs ? { claimIdleMs: config.queueClaimIdleMs } : {}) })
        : new MemoryInboundQueue({ timers: time });
    }
    if (wants('presence')) backends.presence = redis && choice.presence === 'redis' ? new RedisPresenceStore({ client: redis, prefix }) : new MemoryPresenceStore(time);
    if (wants('directory')) backends.directory = redis && choice.directory === 'redis' ? new RedisDirectory({ client: redis, prefix }) : new MemoryDirectory();
    if (wants('store')) {
      if (choice.store === 'cassandra') {
        if (!config.cassandra || !config.keyspace) throw new Error('a Cassandra contact point and keyspace are needed for the Cassandra store');
        cassandra = createCassandraClient(config.cassandra);
        await cassandra.connect();
        backends.store = await CassandraMessageStore.open(cassandra, { keyspace: config.keyspace });
      } else {
        backends.store = new MemoryMessageStore();
      }
    }
    return { backends, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** True when every port a separate process must share is backed by a server (no memory port). */
export function shareableAcrossProcesses(choice: BackendChoice): boolean {
  return Object.values(choice).every((implementation) => implementation !== 'memory');
}
