import { describe, expect, it } from 'vitest';
import { LossyBroker } from '../../server/faults/LossyBroker.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Publishes p0..p(n-1) to one subscribed channel and returns the indexes that arrived. */
async function survivors(broker: LossyBroker, n: number, channel = 'gw:gw1'): Promise<{ arrived: number[]; counts: number[] }> {
  const arrived: number[] = [];
  const subscription = await broker.subscribe(channel, (payload) => arrived.push(Number(payload.slice(1))));
  const counts: number[] = [];
  for (let i = 0; i < n; i++) counts.push(await broker.publish(channel, `p${i}`));
  await settle();
  await subscription.unsubscribe();
  return { arrived, counts };
}

describe('LossyBroker', () => {
  it('passes everything through when no loss window is open', async () => {
    const broker = new LossyBroker(new MemoryBroker(), new SeededRandom(1));
    const { arrived } = await survivors(broker, 500);
    expect(arrived).toEqual([...Array(500).keys()]);
    expect(broker.stats).toEqual({ dropped: 0, passedDuringLoss: 0 });
  });

  it('drops about `share` of the payloads during a window, keeps the survivors in order, and still reports the subscribers', async () => {
    for (const share of [0.1, 0.3, 0.8]) {
      const broker = new LossyBroker(new MemoryBroker(), new SeededRandom(7));
      const end = broker.startLoss(share);
      const n = 10_000;
      const { arrived, counts } = await survivors(broker, n);
      end();
      const dropped = n - arrived.length;
      // Binomial(10,000, share): four standard deviations is at most 200.
      expect(Math.abs(dropped - n * share)).toBeLessThan(200);
      expect(broker.stats).toEqual({ dropped, passedDuringLoss: arrived.length });
      expect(arrived).toEqual([...arrived].sort((a, b) => a - b));
      // Lost in transit, not refused: the publisher cannot tell.
      expect(counts.every((c) => c === 1)).toBe(true);
    }
  });

  it('drops the same payloads for the same seed and others for another seed', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const broker = new LossyBroker(new MemoryBroker(), new SeededRandom(seed));
      broker.startLoss(0.5);
      return (await survivors(broker, 400)).arrived;
    };
    expect(await run(3)).toEqual(await run(3));
    expect(await run(3)).not.toEqual(await run(4));
  });

  it('applies the largest share of overlapping windows and stops only when the last one ends', async () => {
    const broker = new LossyBroker(new MemoryBroker(), new SeededRandom(2));
    const endSmall = broker.startLoss(0.2);
    const endAll = broker.startLoss(1);
    expect(broker.lossShare()).toBe(1);
    expect((await survivors(broker, 100)).arrived).toEqual([]);
    endAll();
    endAll();
    expect(broker.lossShare()).toBe(0.2);
    endSmall();
    expect(broker.lossShare()).toBe(0);
    expect((await survivors(broker, 100)).arrived).toHaveLength(100);
    expect(() => broker.startLoss(0)).toThrow(/share/);
    expect(() => broker.startLoss(1.5)).toThrow(/share/);
  });

  it('returns 0 for a dropped payload on a channel nobody subscribes to, and counts subscribers as they come and go', async () => {
    const broker = new LossyBroker(new MemoryBroker(), new SeededRandom(2));
    broker.startLoss(1);
    expect(await broker.publish('nobody', 'x')).toBe(0);
    const a = await broker.subscribe('ch', () => undefined);
    const b = await broker.subscribe('ch', () => undefined);
    expect(await broker.publish('ch', 'x')).toBe(2);
    await a.unsubscribe();
    await a.unsubscribe();
    expect(await broker.publish('ch', 'x')).toBe(1);
    await b.unsubscribe();
    expect(await broker.publish('ch', 'x')).toBe(0);
  });
});
