// The port contract suites against the Redis adapters, on a Redis server of the test's own
// (redis-memory-server running the system redis-server on a free port: see package.json's
// "redisMemoryServer"), never the shared one on 6379. Every subject also gets a fresh key prefix.
import { Redis } from 'ioredis';
import { RedisMemoryServer } from 'redis-memory-server';
import { afterAll, beforeAll } from 'vitest';
import { RedisBroker } from '../../server/redis/RedisBroker.ts';
import { RedisPresenceStore } from '../../server/redis/RedisPresenceStore.ts';
import { describeBrokerContract } from './brokerContract.ts';
import { sleep, uniqueId } from './helpers.ts';
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
