import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker, Subscription } from '../../server/ports/Broker.ts';
import { eventually, sleep, uniqueId } from './helpers.ts';

export interface BrokerSubject {
  /** The publisher, and the first subscriber client. */
  broker: Broker;
  /**
   * Another client of the same broker (another gateway process: for Redis, its own
   * connections). Redis PUBLISH counts subscribed connections, so subscribers that must count
   * separately are made on separate clients. In-process implementations may return `broker`.
   */
  connect(): Promise<Broker>;
  /** Releases connections etc. (including those of `connect`). Called after every test. */
  cleanup(): Promise<void>;
  /** How long delivery may take on this implementation (default 2,000 ms). */
  deliveryTimeoutMs?: number;
  /**
   * How long to wait before concluding that something was NOT delivered (default 50 ms).
   * The suites always follow such a wait with a marker payload that must arrive, so the
   * conclusion does not depend on this value being large.
   */
  quietPeriodMs?: number;
}

/**
 * The Broker contract (server/ports/Broker.ts). `makeSubject` is called once per test and
 * should hand out a fresh broker; channel names are unique per test anyway.
 */
export function describeBrokerContract(name: string, makeSubject: () => Promise<BrokerSubject>): void {
  describe(`Broker contract: ${name}`, () => {
    let subject: BrokerSubject;
    let broker: Broker;
    let subscriptions: Subscription[];
    let timeoutMs: number;
    let quietMs: number;

    beforeEach(async () => {
      subject = await makeSubject();
      broker = subject.broker;
      subscriptions = [];
      timeoutMs = subject.deliveryTimeoutMs ?? 2_000;
      quietMs = subject.quietPeriodMs ?? 50;
    });

    afterEach(async () => {
      for (const s of subscriptions) await s.unsubscribe();
      await subject.cleanup();
    });

    /** Subscribes and records every payload received. */
    async function listen(channel: string, client: Broker = broker): Promise<{ received: string[]; subscription: Subscription }> {
      const received: string[] = [];
      const subscription = await client.subscribe(channel, (payload) => { received.push(payload); });
      subscriptions.push(subscription);
      return { received, subscription };
    }

    it('publish to a channel nobody subscribes to returns 0 and the payload is dropped, not kept for later', async () => {
      const channel = uniqueId('ch-nobody');
      expect(await broker.publish(channel, 'lost')).toBe(0);
      const { received } = await listen(channel);
      await sleep(quietMs);
      expect(await broker.publish(channel, 'marker')).toBe(1);
      await eventually(() => expect(received).toContain('marker'), { timeoutMs });
      expect(received).toEqual(['marker']);
    });

    it('a subscriber receives the payloads published to its channel, unchanged', async () => {
      const channel = uniqueId('ch-basic');
      const { received } = await listen(channel);
      const odd = 'ünïcødé ✓ {"json":[1,2]}\n\ttabs and "quotes" \u0000 nul';
      expect(await broker.publish(channel, 'hello')).toBe(1);
      expect(await broker.publish(channel, odd)).toBe(1);
      expect(await broker.publish(channel, '')).toBe(1);
      await eventually(() => expect(received).toHaveLength(3), { timeoutMs });
      expect(received).toEqual(['hello', odd, '']);
    });

    it('delivers 1,000 payloads from one publisher to one channel in publish order', async () => {
      const channel = uniqueId('ch-order');
      const { received } = await listen(channel);
      const sent: string[] = [];
      for (let i = 0; i < 1_000; i++) {
        const payload = `p${i}`;
        sent.push(payload);
        expect(await broker.publish(channel, payload)).toBe(1);
      }
      await eventually(() => expect(received).toHaveLength(1_000), { timeoutMs: timeoutMs * 5 });
      expect(received).toEqual(sent);
    });

    it('keeps publish order per channel when one publisher interleaves two channels', async () => {
      const a = uniqueId('ch-il-a');
      const b = uniqueId('ch-il-b');
      const ra = await listen(a);
      const rb = await listen(b);
      const sentA: string[] = [];
      const sentB: string[] = [];
      for (let i = 0; i < 200; i++) {
        const channel = i % 3 === 0 ? b : a;
        const payload = `${i}`;
        (channel === a ? sentA : sentB).push(payload);
        expect(await broker.publish(channel, payload)).toBe(1);
      }
      await eventually(() => {
        expect(ra.received).toHaveLength(sentA.length);
        expect(rb.received).toHaveLength(sentB.length);
      }, { timeoutMs });
      expect(ra.received).toEqual(sentA);
      expect(rb.received).toEqual(sentB);
    });

    it('hands a payload to every subscriber of the channel and returns their number', async () => {
      const channel = uniqueId('ch-fanout');
      const first = await listen(channel);
      const second = await listen(channel, await subject.connect());
      expect(await broker.publish(channel, 'x')).toBe(2);
      expect(await broker.publish(channel, 'y')).toBe(2);
      await eventually(() => {
        expect(first.received).toEqual(['x', 'y']);
        expect(second.received).toEqual(['x', 'y']);
      }, { timeoutMs });
    });

    it('stops delivering to a subscription once unsubscribe resolved, and keeps delivering to the others', async () => {
      const channel = uniqueId('ch-unsub');
      const leaving = await listen(channel, await subject.connect());
      const staying = await listen(channel);
      expect(await broker.publish(channel, 'before')).toBe(2);
      await eventually(() => {
        expect(leaving.received).toEqual(['before']);
        expect(staying.received).toEqual(['before']);
      }, { timeoutMs });

      await leaving.subscription.unsubscribe();
      expect(await broker.publish(channel, 'after')).toBe(1);
      await eventually(() => expect(staying.received).toEqual(['before', 'after']), { timeoutMs });
      await sleep(quietMs);
      expect(leaving.received).toEqual(['before']);

      await staying.subscription.unsubscribe();
      expect(await broker.publish(channel, 'nobody')).toBe(0);
    });

    it('never calls a handler synchronously inside publish', async () => {
      const channel = uniqueId('ch-async');
      let inPublish = false;
      const calledInside: string[] = [];
      const received: string[] = [];
      subscriptions.push(await broker.subscribe(channel, (payload) => {
        if (inPublish) calledInside.push(payload);
        received.push(payload);
      }));
      for (let i = 0; i < 10; i++) {
        const receivedBefore = received.length;
        inPublish = true;
        const pending = broker.publish(channel, `s${i}`);
        inPublish = false;
        expect(received).toHaveLength(receivedBefore);
        expect(await pending).toBe(1);
      }
      await eventually(() => expect(received).toHaveLength(10), { timeoutMs });
      expect(calledInside).toEqual([]);
    });

    it('isolates channels: a subscriber gets only its own channel, even for similar names', async () => {
      const base = uniqueId('ch-iso');
      const a = await listen(base);
      const b = await listen(`${base}-b`);
      const upper = await listen(base.toUpperCase());
      expect(await broker.publish(base, 'for-a')).toBe(1);
      expect(await broker.publish(`${base}-b`, 'for-b')).toBe(1);
      expect(await broker.publish(`${base}-c`, 'for-nobody')).toBe(0);
      expect(await broker.publish(base.toUpperCase(), 'for-upper')).toBe(1);
      await eventually(() => {
        expect(a.received).toEqual(['for-a']);
        expect(b.received).toEqual(['for-b']);
        expect(upper.received).toEqual(['for-upper']);
      }, { timeoutMs });
      await sleep(quietMs);
      expect(a.received).toEqual(['for-a']);
      expect(b.received).toEqual(['for-b']);
      expect(upper.received).toEqual(['for-upper']);
    });
  });
}
