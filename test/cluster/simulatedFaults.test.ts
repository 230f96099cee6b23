// The faults and machine traits the simulation needs from the cluster, driven through the
// inbound queue and the broker on a ManualTime: a paused chat server, a skewed clock per chat
// server slot, and a broker that loses payloads.
import { describe, expect, it } from 'vitest';
import { Cluster } from '../../server/Cluster.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { InboundQueue, QueueEntry } from '../../server/ports/InboundQueue.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { gatewayChannel, type GatewayDelivery, type InboundEnvelope } from '../../server/protocol/envelopes.ts';
import { drawClockSkewMs, skewedChatServerClocks, SkewedClock } from '../../simulator/engine/sim/skewedClocks.ts';

const T0 = 1_700_000_000_000;

async function runFor(time: ManualTime, ms: number): Promise<void> {
  const until = time.nowMs() + ms;
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!time.fireNextInstant(until)) break;
  }
  time.jumpTo(until);
}

/**
 * A cluster whose chat servers run (no gateways listening): frames go in through the queue, replies come out of gw:gw1.
 * Assembled with the pause and loss equipment; `handlers` are the entry handlers the chat servers consume with, as the queue sees them.
 */
async function world(options: { chatServers: number; skewMs?: number; seed?: number }) {
  const time = new ManualTime(T0);
  const random = new SeededRandom(options.seed ?? 1);
  const memoryQueue = new MemoryInboundQueue({ timers: time });
  const handlers: Array<(entry: QueueEntry) => Promise<void>> = [];
  const watchedQueue: InboundQueue = {
    enqueue: (key, payload, max) => memoryQueue.enqueue(key, payload, max),
    consume: (name, handler, consumeOptions) => { handlers.push(handler); return memoryQueue.consume(name, handler, consumeOptions); },
    deadLetters: (limit) => memoryQueue.deadLetters(limit),
  };
  const cluster = new Cluster({
    time, random, gateways: 1, chatServers: options.chatServers, backends: { queue: watchedQueue }, faultEquipment: ['pause-chat-server', 'broker-loss'],
    ...(options.skewMs !== undefined ? { chatServerClock: skewedChatServerClocks(time, random.fork('clocks'), options.skewMs) } : {}),
  });
  const { directory, queue, broker } = cluster.backends;
  for (const id of ['alice', 'bob']) await directory.createUser({ id, name: id, passwordHash: 'x' });
  await directory.createChat({ id: 'd:alice:bob', kind: 'direct', name: '', memberIds: ['alice', 'bob'], createdAtMs: T0 });
  const replies: Array<{ conn: string; frame: Record<string, unknown> }> = [];
  await broker.subscribe(gatewayChannel('gw1'), (payload) => {
    const delivery = JSON.parse(payload) as GatewayDelivery;
    if (delivery.kind === 'deliver') for (const conn of delivery.to) replies.push({ conn, frame: JSON.parse(delivery.frame) as Record<string, unknown> });
  });
  for (const server of cluster.chatServers) server.start();
  const envelope = (conn: string, frame: object): string => JSON.stringify({ gw: 'gw1', conn, user: 'alice', device: 'd1', frame: JSON.stringify(frame) } satisfies InboundEnvelope);
  const send = async (conn: string, clientMsgId: string): Promise<void> => {
    const result = await queue.enqueue(conn, envelope(conn, { type: 'send', chat: 'd:alice:bob', clientMsgId, body: `body ${clientMsgId}` }), 100);
    expect(result.accepted).toBe(true);
  };
  const sent = (): Array<Record<string, unknown>> => replies.filter((r) => r.frame.type === 'sent').map((r) => r.frame);
  return { time, cluster, handlers, send, sent, envelope, stored: async () => (await cluster.backends.store.readChat('d:alice:bob', 0, 1000)).messages };
}

describe('a paused chat server', () => {
  it('processes nothing while paused (frames wait in the queue) and everything, in order per connection, once resumed', async () => {
    const w = await world({ chatServers: 1 });
    w.cluster.pauseChatServer(0);
    expect(w.cluster.chatServerPaused(0)).toBe(true);
    for (let i = 0; i < 12; i++) await w.send(`conn${i % 3}`, `m${i}`);
    await runFor(w.time, 30_000);
    expect(w.sent()).toEqual([]);
    expect(await w.stored()).toEqual([]);
    expect(w.cluster.chatServers[0]!.stats.framesHandled).toBe(0);

    w.cluster.resumeChatServer(0);
    await runFor(w.time, 1_000);
    expect(w.sent().map((f) => f.ref).sort()).toEqual([...Array(12).keys()].map((i) => `m${i}`).sort());
    const stored = await w.stored();
    for (let c = 0; c < 3; c++) {
      const ofConnection = [...Array(12).keys()].filter((i) => i % 3 === c).map((i) => `m${i}`);
      expect(stored.map((m) => m.clientMsgId).filter((id) => ofConnection.includes(id))).toEqual(ofConnection);
    }
  });

  it('takes no new frames while paused, so the other chat servers process them all', async () => {
    const w = await world({ chatServers: 2 });
    w.cluster.pauseChatServer(1);
    for (let i = 0; i < 20; i++) await w.send(`conn${i}`, `m${i}`);
    await runFor(w.time, 1_000);
    expect(w.sent()).toHaveLength(20);
    expect(w.cluster.chatServers[1]!.stats.framesHandled).toBe(0);
    expect(w.cluster.chatServers[0]!.stats.framesHandled).toBe(20);
    w.cluster.resumeChatServer(1);
    for (let i = 20; i < 40; i++) await w.send(`conn${i}`, `m${i}`);
    await runFor(w.time, 1_000);
    expect(w.cluster.chatServers[1]!.stats.framesHandled).toBeGreaterThan(0);
  });

  it('holds a frame handed to it while paused; a graceful stop finishes it, a crash hands it back to the queue', async () => {
    for (const crash of [false, true]) {
      const w = await world({ chatServers: 1 });
      const server = w.cluster.chatServers[0]!;
      w.cluster.pauseChatServer(0);
      // A read under way when the pause came hands the paused server an entry (the consumer's handler, as the queue calls it).
      const entry: QueueEntry = { key: 'conn0', payload: w.envelope('conn0', { type: 'send', chat: 'd:alice:bob', clientMsgId: 'held', body: 'b' }), redeliveries: 0 };
      let outcome = 'pending';
      w.handlers[0]!(entry).then(() => { outcome = 'done'; }, () => { outcome = 'failed'; });
      await runFor(w.time, 5_000);
      expect(outcome).toBe('pending');
      expect(await w.stored()).toEqual([]);
      await server.stop({ crash });
      await runFor(w.time, 100);
      expect(outcome).toBe(crash ? 'failed' : 'done');
      expect((await w.stored()).map((m) => m.clientMsgId)).toEqual(crash ? [] : ['held']);
    }
  });

  it('is replaced by a running server on restart, and the late resume is harmless', async () => {
    const w = await world({ chatServers: 1 });
    w.cluster.pauseChatServer(0);
    await w.cluster.restartChatServers({ crash: true });
    expect(w.cluster.chatServerPaused(0)).toBe(false);
    await w.send('conn0', 'after-restart');
    await runFor(w.time, 1_000);
    expect(w.sent().map((f) => f.ref)).toEqual(['after-restart']);
    w.cluster.resumeChatServer(0);
  });
});

describe('skewed chat server clocks', () => {
  it('draws a fixed skew per slot within the bound, reproducibly, and different slots disagree', () => {
    const random = new SeededRandom(42);
    const skews = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => drawClockSkewMs(random, i, 25));
    expect(skews).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => drawClockSkewMs(new SeededRandom(42), i, 25)));
    for (const s of skews) {
      expect(Number.isInteger(s)).toBe(true);
      expect(Math.abs(s)).toBeLessThanOrEqual(25);
    }
    expect(new Set(skews).size).toBeGreaterThan(4);
    expect(drawClockSkewMs(random, 0, 0)).toBe(0);
    const base = new ManualTime(T0);
    const clock = new SkewedClock(base, -7);
    expect(clock.nowMs()).toBe(T0 - 7);
    base.advance(10);
    expect(clock.nowMs()).toBe(T0 + 3);
  });

  it('stamps each chat server\'s messages with its own clock, as drawn for its slot, kept across a restart', async () => {
    const w = await world({ chatServers: 2, skewMs: 25, seed: 3 });
    const drawn = [0, 1].map((i) => drawClockSkewMs(new SeededRandom(3).fork('clocks'), i, 25));
    expect(drawn[0]).not.toBe(drawn[1]);
    const stampOf = async (slot: number, clientMsgId: string): Promise<number> => {
      const entry: QueueEntry = { key: `direct-${clientMsgId}`, payload: w.envelope(`direct-${clientMsgId}`, { type: 'send', chat: 'd:alice:bob', clientMsgId, body: 'b' }), redeliveries: 0 };
      await w.cluster.chatServers[slot]!.handleEntry(entry);
      const sent = w.sent().find((f) => f.ref === clientMsgId);
      expect(sent).toBeDefined();
      return (sent!.ts as number) - w.time.nowMs();
    };
    expect(await stampOf(0, 's0')).toBe(drawn[0]);
    expect(await stampOf(1, 's1')).toBe(drawn[1]);
    await w.cluster.restartChatServers();
    expect(await stampOf(0, 's0-after-restart')).toBe(drawn[0]);
    expect(await stampOf(1, 's1-after-restart')).toBe(drawn[1]);
  });

  it('uses the cluster clock when no chatServerClock is given', async () => {
    const w = await world({ chatServers: 1 });
    await w.send('conn0', 'plain');
    await runFor(w.time, 100);
    expect(w.sent()[0]!.ts).toBe(w.time.nowMs() - 100);
  });
});

describe('a cluster losing broker messages', () => {
  it('loses replies only inside the window, and the lost sends are stored all the same', async () => {
    const w = await world({ chatServers: 2, seed: 5 });
    const endLoss = w.cluster.loseBrokerMessages(0.5);
    for (let i = 0; i < 200; i++) await w.send(`conn${i}`, `lossy${i}`);
    await runFor(w.time, 1_000);
    const stats = w.cluster.brokerLossStats();
    const replied = w.sent().length;
    expect(stats.dropped + stats.passedDuringLoss).toBeGreaterThanOrEqual(200);
    expect(replied).toBeGreaterThan(60);
    expect(replied).toBeLessThan(140);
    expect(await w.stored()).toHaveLength(200);
    endLoss();
    for (let i = 0; i < 50; i++) await w.send(`conn${i}`, `clean${i}`);
    await runFor(w.time, 1_000);
    expect(w.sent().filter((f) => String(f.ref).startsWith('clean'))).toHaveLength(50);
    expect(w.cluster.brokerLossStats().dropped).toBe(stats.dropped);
  });
});
