// The port contract suites against the Redis adapters, on a Redis server of the test's own
// (redis-memory-server running the system redis-server on a free port: see package.json's
// "redisMemoryServer"), never the shared one on 6379. Every subject also gets a fresh key prefix.
import { Redis } from 'ioredis';
import { RedisMemoryServer } from 'redis-memory-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from '../../server/redis/RedisBroker.ts';
import { RedisDirectory } from '../../server/redis/RedisDirectory.ts';
import { RedisInboundQueue } from '../../server/redis/RedisInboundQueue.ts';
import { RedisPresenceStore } from '../../server/redis/RedisPresenceStore.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { describeBrokerContract } from './brokerContract.ts';
import { describeDirectoryContract } from './directoryContract.ts';
import { eventually, sleep, uniqueId } from './helpers.ts';
import { describeInboundQueueContract } from './inboundQueueContract.ts';
import { describePresenceStoreContract } from './presenceStoreContract.ts';

let server: RedisMemoryServer;
let port: number;
let host: string;

beforeAll(async () => {
  server = await RedisMemoryServer.create();
  host = await server.getHost();
  port = await server.getPort();
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

function connect(): Redis {
  const client = new Redis({ host, port, lazyConnect: false, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return client;
}

async function close(clients: readonly Redis[]): Promise<void> {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
}

describeBrokerContract('RedisBroker', async () => {
  const prefix = `${uniqueId('test')}:`;
  const clients: Redis[] = [];
  const brokers: RedisBroker[] = [];
  const make = (): RedisBroker => {
    const client = connect();
    clients.push(client);
    const broker = new RedisBroker({ client, prefix });
    brokers.push(broker);
    return broker;
  };
  const broker = make();
  return {
    broker,
    connect: async () => make(),
    cleanup: async () => {
      await Promise.all(brokers.map((b) => b.close()));
      await close(clients);
    },
  };
});

describePresenceStoreContract('RedisPresenceStore', async () => {
  const client = connect();
  return {
    store: new RedisPresenceStore({ client, prefix: `${uniqueId('test')}:` }),
    advance: (ms) => sleep(ms),
    nowMs: () => Date.now(),
    // The Redis server runs on this machine: its TIME and Date.now() read the same clock; the
    // slack covers the rounding to ms and the time between reading it and replying.
    clockSlackMs: 5,
    cleanup: () => close([client]),
  };
});

/**
 * Short claim times so a crashed consumer's entries come back within the suite's timeouts:
 * a turn idle for 400 ms is claimed; live consumers renew theirs every 100 ms. Three
 * partitions, so keys spread over several turn streams.
 */
const QUEUE_CLAIM_IDLE_MS = 400;

describeInboundQueueContract('RedisInboundQueue', async (options) => {
  const client = connect();
  // The queue recovers from Redis errors (a turn is claimed again later), which could hide a
  // broken fast path behind the slow one: any error but a closed connection (consumers
  // crashed by the suite, the client quit at cleanup) fails the test.
  const errors: string[] = [];
  const onError = (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    if (!/Connection is closed/i.test(message)) errors.push(message);
  };
  return {
    queue: new RedisInboundQueue({
      client,
      time: createSystemTime(),
      prefix: `${uniqueId('test')}:`,
      partitions: 3,
      claimIdleMs: QUEUE_CLAIM_IDLE_MS,
      renewIntervalMs: 100,
      claimIntervalMs: 100,
      ...options,
      onError,
    }),
    // Redelivery after a crash waits for the claim (idle time plus one claim period).
    deliveryTimeoutMs: 3_000,
    cleanup: async () => {
      await close([client]);
      expect(errors).toEqual([]);
    },
  };
});

describeDirectoryContract('RedisDirectory', async () => {
  const client = connect();
  return {
    directory: new RedisDirectory({ client, prefix: `${uniqueId('test')}:` }),
    cleanup: () => close([client]),
  };
});

// Beyond the contracts: what only the Redis layout can get wrong.
describe('Redis adapters: layout', () => {
  it('queue: turns reach consumers through XREADGROUP alone (no claims needed), and nothing is left once all is acknowledged', async () => {
    const client = connect();
    const prefix = `${uniqueId('test')}:`;
    const errors: unknown[] = [];
    try {
      // Claims are 10 s away (the default): everything must be done long before.
      const queue = new RedisInboundQueue({ client, time: createSystemTime(), prefix, partitions: 3, onError: (e) => errors.push(e) });
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
      const processed = new Map<string, string[]>(keys.map((k) => [k, []]));
      const handler = async (entry: { key: string; payload: string }): Promise<void> => { processed.get(entry.key)!.push(entry.payload); };
      const consumers = [queue.consume('a', handler), queue.consume('b', handler)];
      for (let i = 0; i < 200; i++) expect((await queue.enqueue(keys[i % 8]!, `${i}`, 1_000)).accepted).toBe(true);
      await eventually(() => expect([...processed.values()].flat()).toHaveLength(200), { timeoutMs: 3_000 });
      keys.forEach((k, j) => expect(processed.get(k)).toEqual(Array.from({ length: 25 }, (_, n) => `${j + 8 * n}`)));
      await Promise.all(consumers.map((c) => c.stop()));

      const left = (await client.keys(`${prefix}*`)).sort();
      expect(left).toEqual([0, 1, 2].map((p) => `${prefix}queue:{${p}}:turns`));
      for (const stream of left) {
        expect(await client.xlen(stream)).toBe(0);
        // Graceful stops removed the consumers from the group.
        expect(await client.call('XINFO', 'CONSUMERS', stream, 'consumers')).toEqual([]);
      }
      expect(errors).toEqual([]);
    } finally {
      await close([client]);
    }
  });

  it('presence: entry hashes carry a Redis TTL past their deadline, and every key is under the prefix', async () => {
    const client = connect();
    const prefix = `${uniqueId('test')}:`;
    try {
      const store = new RedisPresenceStore({ client, prefix, unsweptRetentionMs: 60_000 });
      await store.put({ userId: 'u', connectionId: 'c', deviceId: 'd', gatewayId: 'g' }, 5_000);
      const pttl = await client.pttl(`${prefix}presence:user:u`);
      expect(pttl).toBeGreaterThan(60_000);
      expect(pttl).toBeLessThanOrEqual(65_000);
      expect(await store.refresh('u', 'c', 20_000)).toBe(true);
      expect(await client.pttl(`${prefix}presence:user:u`)).toBeGreaterThan(75_000);
      expect(await store.remove('u', 'c')).toBe(true);
      // The changed-users set holds u (created, then removed) until a sweep takes it.
      expect((await client.keys(`${prefix}*`)).sort()).toEqual([`${prefix}presence:changed`, `${prefix}presence:last:u`]);
      expect(await client.smembers(`${prefix}presence:changed`)).toEqual(['u']);
      expect(await store.sweepChanged(10)).toEqual(['u']);
      expect((await client.keys(`${prefix}*`)).sort()).toEqual([`${prefix}presence:last:u`]);
      expect(await client.pttl(`${prefix}presence:last:u`)).toBeGreaterThan(29 * 24 * 3_600_000);
    } finally {
      await close([client]);
    }
  });

  describe('directory: two processes (two RedisDirectory instances, each with its own connection and cache)', () => {
    async function twoProcesses(cacheChatsMax?: number): Promise<{ a: RedisDirectory; b: RedisDirectory; release(): Promise<void> }> {
      const prefix = `${uniqueId('test')}:`;
      const clients = [connect(), connect()];
      return {
        a: new RedisDirectory({ client: clients[0]!, prefix, cacheChatsMax }),
        b: new RedisDirectory({ client: clients[1]!, prefix, cacheChatsMax }),
        release: () => close(clients),
      };
    }

    it('a member added or removed through one is seen by getChat on the other at once: the version invalidates its cache', async () => {
      const { a, b, release } = await twoProcesses();
      try {
        const [u, v, w] = [uniqueId('u'), uniqueId('v'), uniqueId('w')];
        const chat = await a.createChat({ id: uniqueId('chat'), kind: 'group', name: 'G', memberIds: [u, v], createdAtMs: 1 });
        const cachedOnB = (await b.getChat(chat.id))!;
        expect(await b.getChat(chat.id)).toBe(cachedOnB);

        expect(await a.addMember(chat.id, w, 42)).toBe(true);
        const afterAdd = (await b.getChat(chat.id))!;
        expect(afterAdd.members).toEqual(new Map([[u, 0], [v, 0], [w, 42]]));
        expect(cachedOnB.members.has(w)).toBe(false);
        expect(await b.chatsOf(w)).toEqual([chat.id]);

        expect(await b.removeMember(chat.id, u)).toBe(true);
        expect((await a.getChat(chat.id))!.members).toEqual(new Map([[v, 0], [w, 42]]));
        expect(await a.chatsOf(u)).toEqual([]);
        // a cached the chat at createChat: its cache had to notice b's write too.
        expect(await a.addMember(chat.id, w, 99)).toBe(false);
        expect((await b.getChat(chat.id))!.members.get(w)).toBe(42);
      } finally {
        await release();
      }
    });

    it('the cached snapshot is returned by reference while nothing changed; a rename through the other instance gives a new record', async () => {
      const { a, b, release } = await twoProcesses();
      try {
        const chat = await a.createChat({ id: uniqueId('chat'), kind: 'group', name: 'Before', memberIds: [uniqueId('u')], createdAtMs: 7 });
        const first = (await b.getChat(chat.id))!;
        expect(await b.getChat(chat.id)).toBe(first);
        expect(await b.getChat(chat.id)).toBe(first);
        expect(Object.isFrozen(first)).toBe(true);
        expect(() => (first.members as Map<string, number>).set('intruder', 1)).toThrow(TypeError);

        expect(await a.renameChat(chat.id, 'After')).toBe(true);
        const renamed = (await b.getChat(chat.id))!;
        expect(renamed).not.toBe(first);
        expect(renamed).toEqual({ ...chat, name: 'After' });
        expect(first.name).toBe('Before');
        expect(await b.getChat(chat.id)).toBe(renamed);
      } finally {
        await release();
      }
    });

    it('the cache holds at most cacheChatsMax chats, dropping the least recently read; a chat created again under its id replaces it everywhere', async () => {
      const { a, b, release } = await twoProcesses(2);
      try {
        const [u, v, w] = [uniqueId('u'), uniqueId('v'), uniqueId('w')];
        const ids = [uniqueId('chat'), uniqueId('chat'), uniqueId('chat')];
        for (const id of ids) await a.createChat({ id, kind: 'group', name: id, memberIds: [u], createdAtMs: 1 });
        const [c0, c1] = [(await b.getChat(ids[0]!))!, (await b.getChat(ids[1]!))!];
        expect(await b.getChat(ids[0]!)).toBe(c0); // ids[0] is now the most recent, ids[1] the least
        await b.getChat(ids[2]!); // evicts ids[1]
        expect(await b.getChat(ids[0]!)).toBe(c0);
        const c1Again = (await b.getChat(ids[1]!))!;
        expect(c1Again).not.toBe(c1);
        expect(c1Again).toEqual(c1);

        // Two API processes racing to open the same chat: the later one wins, and the earlier
        // one's members that are not in it leave it.
        await b.createChat({ id: ids[0]!, kind: 'direct', name: '', memberIds: [v, w], createdAtMs: 2 });
        expect(await a.getChat(ids[0]!)).toEqual({ id: ids[0], kind: 'direct', name: '', createdAtMs: 2, members: new Map([[v, 0], [w, 0]]) });
        expect(await b.getChat(ids[0]!)).not.toBe(c0);
        expect((await a.chatsOf(u)).sort()).toEqual([ids[1], ids[2]].sort());
        expect(await a.chatsOf(v)).toEqual([ids[0]]);
      } finally {
        await release();
      }
    });

    it('every key is under the prefix, in the documented layout', async () => {
      const client = connect();
      const prefix = `${uniqueId('test')}:`;
      try {
        const directory = new RedisDirectory({ client, prefix });
        await directory.createUser({ id: 'u:1', name: 'U', passwordHash: 'h' });
        await directory.createChat({ id: 'c', kind: 'group', name: 'C', memberIds: ['u:1', 'v'], createdAtMs: 1 });
        // "c:members" would be the members key of "c" in a `chat:<id>:members` layout.
        await directory.createChat({ id: 'c:members', kind: 'group', name: 'CM', memberIds: ['v'], createdAtMs: 1 });
        await directory.addFriends('u:1', 'v');
        expect((await client.keys(`${prefix}*`)).sort()).toEqual([
          'dir:chat:c', 'dir:chat:c:members', 'dir:chats-of:u:1', 'dir:chats-of:v', 'dir:friends:u:1', 'dir:friends:v',
          'dir:members:c', 'dir:members:c:members', 'dir:user:u:1',
        ].map((k) => prefix + k));
        expect(await client.hgetall(`${prefix}dir:chat:c`)).toEqual({ kind: 'group', name: 'C', createdAtMs: '1', version: '1' });
        expect(await client.hgetall(`${prefix}dir:members:c`)).toEqual({ 'u:1': '0', v: '0' });
        expect((await directory.getChat('c'))!.members).toEqual(new Map([['u:1', 0], ['v', 0]]));
        expect((await directory.getChat('c:members'))!.members).toEqual(new Map([['v', 0]]));
      } finally {
        await close([client]);
      }
    });
  });
});
