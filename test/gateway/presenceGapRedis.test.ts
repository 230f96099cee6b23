// The numbered presence pushes end to end on the Redis broker (issue 14: the repair must work on
// the Redis-backed cluster too): the presence service and a gateway each on their own Redis
// connection, one online push lost on the way, and the next sweep's mark makes the gateway tell
// its connection to ask presence again. Redis of the test's own (redis-memory-server).
import { Redis } from 'ioredis';
import { RedisMemoryServer } from 'redis-memory-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../../server/gateway/Gateway.ts';
import type { ServerConnection } from '../../server/gateway/ServerConnection.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import type { Broker } from '../../server/ports/Broker.ts';
import { PresenceService } from '../../server/presence/PresenceService.ts';
import { PRESENCE_EVENTS_CHANNEL } from '../../server/protocol/envelopes.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';
import { RedisBroker } from '../../server/redis/RedisBroker.ts';
import { eventually, uniqueId } from '../contracts/helpers.ts';

let server: RedisMemoryServer;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await RedisMemoryServer.create();
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  await server?.stop();
});

async function redisBroker(prefix: string): Promise<RedisBroker> {
  const client = new Redis({ host: await server.getHost(), port: await server.getPort(), maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  clients.push(client);
  return new RedisBroker({ client, prefix });
}

/** Drops the first presence push published to a gateway channel, as a lossy broker would. */
function losingFirstPush(inner: Broker): Broker & { dropped(): boolean } {
  let dropped = false;
  return {
    dropped: () => dropped,
    publish: async (channel, payload) => {
      if (!dropped && channel.startsWith('gw:') && payload.includes('"presence":{')) {
        dropped = true;
        return 1;
      }
      return inner.publish(channel, payload);
    },
    subscribe: (channel, handler) => inner.subscribe(channel, handler),
  };
}

describe('numbered presence pushes on the Redis broker', () => {
  it('a push lost on the way is noticed at the next sweep and the connection is told to ask again', async () => {
    const prefix = `${uniqueId('gap')}:`;
    const time = new ManualTime();
    const presence = new MemoryPresenceStore(time);
    const directory = new MemoryDirectory();
    await directory.addFriends('alice', 'bob');
    const limits = resolveLimits({ presenceSweepIntervalMs: 1_000, heartbeatSweepIntervalMs: 1_000, heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 60_000, presenceTtlMs: 120_000 });
    const gatewayBroker = await redisBroker(prefix);
    const gateway = new Gateway({ id: 'gw1', time, broker: gatewayBroker, queue: new MemoryInboundQueue({ timers: time }), presence, limits });
    await gateway.start();
    const lossy = losingFirstPush(await redisBroker(prefix));
    const service = new PresenceService({ time, broker: lossy, presence, directory, limits, streamId: 'p1' });
    await service.start();
    const sent: string[] = [];
    const link: ServerConnection = {
      send: (text) => { sent.push(text); }, bufferedBytes: () => 0, close: () => undefined, terminate: () => undefined,
      onFrame: () => undefined, onClose: () => undefined,
    };
    gateway.accept(link, { user: 'bob', device: 'd1' });
    await eventually(async () => expect(sent.some((f) => f.includes('"hello"'))).toBe(true));
    // alice connects elsewhere: her online push to gw1 is lost.
    await presence.put({ userId: 'alice', connectionId: 'gw2.1', deviceId: 'd1', gatewayId: 'gw2' }, 120_000);
    await gatewayBroker.publish(PRESENCE_EVENTS_CHANNEL, JSON.stringify({ kind: 'connected', user: 'alice', device: 'd1', conn: 'gw2.1', gw: 'gw2', atMs: 0 }));
    await eventually(async () => expect(lossy.dropped()).toBe(true));
    expect(sent.filter((f) => f.includes('"presence-gap"'))).toHaveLength(0);
    // The sweep repeats the last number (1); the gateway has seen none: a gap.
    time.advance(1_000);
    await eventually(async () => expect(sent.filter((f) => f.includes('"presence-gap"')), sent.join('\n')).toHaveLength(1));
    expect(sent.some((f) => f.includes('"online":true'))).toBe(false);
    await service.stop();
    await gateway.stop();
    await Promise.all([gatewayBroker.close()]);
  }, 60_000);
});
