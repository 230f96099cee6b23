// The simulation's port latencies (simulator/engine/sim/withLatency.ts): delays drawn from the
// range on the virtual clock, FIFO per lane (channel, key, presence entry) for calls in flight
// together, independent otherwise, synchronous members untouched, and reproducible per seed.
import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { QueueEntry } from '../../server/ports/InboundQueue.ts';
import { LatentBroker, LatentInboundQueue, LatentPresenceStore, PortLatency, withLatency } from '../../simulator/engine/sim/withLatency.ts';

const T0 = 1_700_000_000_000;

/** Fires every pending instant, letting promise callbacks settle between instants (as the sim engine does). */
async function runToIdle(time: ManualTime): Promise<void> {
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const next = time.nextDueMs();
    if (next === undefined) return;
    time.fireNextInstant(next);
  }
}

describe('PortLatency', () => {
  it('completes each call after a round trip drawn from the range, the operation running after the request leg', async () => {
    const time = new ManualTime(T0);
    const latency = new PortLatency(time, new SeededRandom(3), { min: 2, max: 9 });
    const ranAt: number[] = [];
    const doneAt: number[] = [];
    for (let i = 0; i < 200; i++) {
      void latency.call(undefined, async () => { ranAt[i] = time.nowMs() - T0; }).then(() => { doneAt[i] = time.nowMs() - T0; });
    }
    await runToIdle(time);
    expect(doneAt.filter((d) => d !== undefined)).toHaveLength(200);
    for (let i = 0; i < 200; i++) {
      expect(doneAt[i]).toBeGreaterThanOrEqual(2);
      expect(doneAt[i]).toBeLessThanOrEqual(9);
      expect(ranAt[i]).toBe(Math.floor(doneAt[i]! / 2));
    }
    // Every value of the range shows up, and unordered calls do overtake each other.
    expect(new Set(doneAt)).toEqual(new Set([2, 3, 4, 5, 6, 7, 8, 9]));
    expect(doneAt.some((d, i) => i > 0 && d < doneAt[i - 1]!)).toBe(true);
    expect(latency.activeLanes()).toBe(0);
  });

  it('keeps calls of one lane in order, both when they run and when they complete, and lets other lanes overtake', async () => {
    const time = new ManualTime(T0);
    const latency = new PortLatency(time, new SeededRandom(5), { min: 0, max: 20 });
    const ran = new Map<string, number[]>();
    const completed = new Map<string, number[]>();
    const completionOrder: string[] = [];
    for (let i = 0; i < 300; i++) {
      const lane = `k${i % 4}`;
      void latency.call(lane, async () => { (ran.get(lane) ?? ran.set(lane, []).get(lane)!).push(i); }).then(() => {
        (completed.get(lane) ?? completed.set(lane, []).get(lane)!).push(i);
        completionOrder.push(lane);
      });
    }
    await runToIdle(time);
    for (let k = 0; k < 4; k++) {
      const expected = Array.from({ length: 75 }, (_, j) => j * 4 + k);
      expect(ran.get(`k${k}`)).toEqual(expected);
      expect(completed.get(`k${k}`)).toEqual(expected);
    }
    // Lanes are independent: completions of the four lanes interleave rather than run lane by lane.
    expect(completionOrder.slice(0, 20)).not.toEqual(Array(20).fill(completionOrder[0]));
    expect(latency.activeLanes()).toBe(0);
  });

  it('passes a failure on after the response leg, and a failed call does not hold up its lane', async () => {
    const time = new ManualTime(T0);
    const latency = new PortLatency(time, new SeededRandom(1), { min: 4, max: 4 });
    const first = latency.call('lane', async () => { throw new Error('backend down'); });
    const second = latency.call('lane', async () => 'ok');
    const outcomes: string[] = [];
    first.catch((e: Error) => outcomes.push(`first failed at ${time.nowMs() - T0}: ${e.message}`));
    void second.then((v) => outcomes.push(`second ${v} at ${time.nowMs() - T0}`));
    await runToIdle(time);
    expect(outcomes).toEqual(['first failed at 4: backend down', 'second ok at 4']);
  });

  it('draws the same delays for the same seed and others for another seed', async () => {
    const timesFor = async (seed: number): Promise<number[]> => {
      const time = new ManualTime(T0);
      const latency = new PortLatency(time, new SeededRandom(seed), { min: 0, max: 50 });
      const done: number[] = [];
      for (let i = 0; i < 50; i++) void latency.call(i % 2 === 0 ? 'even' : undefined, async () => i).then(() => done.push(time.nowMs() - T0));
      await runToIdle(time);
      return done;
    };
    expect(await timesFor(9)).toEqual(await timesFor(9));
    expect(await timesFor(9)).not.toEqual(await timesFor(10));
  });

  it('refuses a range that is not whole ms with 0 <= min <= max', () => {
    expect(() => new PortLatency(new ManualTime(), new SeededRandom(1), { min: 3, max: 1 })).toThrow(/latency range/);
    expect(() => new PortLatency(new ManualTime(), new SeededRandom(1), { min: 0.5, max: 1 })).toThrow(/latency range/);
  });
});

describe('the latency-wrapped ports', () => {
  it('hands out entries of a key in enqueue order when the enqueues are in flight together (gateways do not wait)', async () => {
    const time = new ManualTime(T0);
    const queue = new LatentInboundQueue(new MemoryInboundQueue({ timers: time }), new PortLatency(time, new SeededRandom(2), { min: 0, max: 15 }));
    const handed: QueueEntry[] = [];
    queue.consume('cs', async (entry) => { handed.push(entry); });
    const enqueued = new Map<string, string[]>();
    for (let i = 0; i < 200; i++) {
      const key = `conn${i % 5}`;
      (enqueued.get(key) ?? enqueued.set(key, []).get(key)!).push(`f${i}`);
      void queue.enqueue(key, `f${i}`, 1_000);
    }
    await runToIdle(time);
    for (const [key, payloads] of enqueued) expect(handed.filter((e) => e.key === key).map((e) => e.payload)).toEqual(payloads);
    // Keys are not serialised behind each other.
    expect(handed.map((e) => e.payload)).not.toEqual([...Array(200).keys()].map((i) => `f${i}`));
  });

  it('delivers payloads of a channel in publish order when the publishes are in flight together, each after a delay', async () => {
    const time = new ManualTime(T0);
    const broker = new LatentBroker(new MemoryBroker(), new PortLatency(time, new SeededRandom(4), { min: 1, max: 12 }));
    const received = new Map<string, Array<{ payload: string; atMs: number }>>();
    for (const channel of ['gw:a', 'gw:b']) {
      received.set(channel, []);
      const subscribed = broker.subscribe(channel, (payload) => received.get(channel)!.push({ payload, atMs: time.nowMs() - T0 }));
      await runToIdle(time);
      await subscribed;
    }
    const start = time.nowMs() - T0;
    const sent = new Map<string, string[]>([['gw:a', []], ['gw:b', []]]);
    for (let i = 0; i < 100; i++) {
      const channel = i % 3 === 0 ? 'gw:b' : 'gw:a';
      sent.get(channel)!.push(`p${i}`);
      void broker.publish(channel, `p${i}`);
    }
    await runToIdle(time);
    for (const [channel, payloads] of sent) {
      expect(received.get(channel)!.map((r) => r.payload)).toEqual(payloads);
      // Publish leg (request half of 1..12) plus a delivery delay of 1..12: never instant.
      expect(Math.min(...received.get(channel)!.map((r) => r.atMs - start))).toBeGreaterThanOrEqual(1);
    }
  });

  it('never lets a presence remove land before the put it follows, though both are in flight together', async () => {
    const time = new ManualTime(T0);
    const inner = new MemoryPresenceStore(time);
    const presence = new LatentPresenceStore(inner, new PortLatency(time, new SeededRandom(6), { min: 0, max: 30 }));
    for (let i = 0; i < 50; i++) {
      void presence.put({ userId: `u${i}`, connectionId: 'c1', deviceId: 'd1', gatewayId: 'gw1' }, 60_000);
      void presence.remove(`u${i}`, 'c1');
    }
    await runToIdle(time);
    const left = await inner.getMany([...Array(50).keys()].map((i) => `u${i}`));
    expect([...left.values()].flatMap((p) => p.entries)).toEqual([]);
  });

  it('passes the synchronous members through untouched: consume hands out at once, epoch is the store\'s', async () => {
    const time = new ManualTime(T0);
    const store = new MemoryMessageStore();
    const queue = new MemoryInboundQueue({ timers: time });
    const wrapped = withLatency({ store, queue, broker: new MemoryBroker(), presence: new MemoryPresenceStore(time), directory: new MemoryDirectory() }, time, new SeededRandom(1), {
      store: { min: 5, max: 5 }, broker: { min: 5, max: 5 }, queue: { min: 5, max: 5 }, presence: { min: 5, max: 5 }, directory: { min: 5, max: 5 },
    });
    expect(wrapped.store.epoch).toBe(store.epoch);
    const handedAt: number[] = [];
    wrapped.queue.consume('cs', async () => { handedAt.push(time.nowMs() - T0); });
    await queue.enqueue('k', 'direct', 10); // straight into the queue behind: no latency on the way out
    await new Promise((resolve) => setImmediate(resolve));
    expect(handedAt).toEqual([0]);
    const appended = wrapped.store.append({ chatId: 'c', senderId: 'u', senderDeviceId: 'd', clientMsgId: 'm1', body: 'b', msgId: 'x', sentAtMs: T0 });
    await runToIdle(time);
    expect((await appended).message.seq).toBe(1);
    expect(time.nowMs() - T0).toBe(5);
  });
});
