import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConsumeOptions, DeadLetter, InboundQueue, QueueConsumer, QueueEntry } from '../../server/ports/InboundQueue.ts';
import type { Deferred } from './helpers.ts';
import { deferred, eventually, settlesWithin, sleep, uniqueId } from './helpers.ts';

export interface InboundQueueSubject {
  queue: InboundQueue;
  /** Releases connections etc. Called after every test (consumers are stopped before). */
  cleanup(): Promise<void>;
  /**
   * How long handing out (or handing out again, after a failure or a crash) may take on this
   * implementation (default 2,000 ms). A Redis implementation that reclaims crashed consumers'
   * entries after an idle time needs this to exceed that idle time.
   */
  deliveryTimeoutMs?: number;
  /** How long to wait before concluding that something did NOT happen (default 50 ms). */
  quietPeriodMs?: number;
  /** fast-check runs for the crash property (default 25); each run makes its own subject. */
  propertyRuns?: number;
}

const UNBOUNDED = 1_000_000;

/** What a test may ask of the queue it is given (passed to the implementation's options). */
export interface InboundQueueSubjectOptions {
  poisonAttemptsMax?: number;
}

/**
 * The InboundQueue contract (server/ports/InboundQueue.ts). `makeSubject` is called once per
 * test (and once per property run) and should hand out a queue no other test uses, e.g. a
 * fresh stream/key prefix: consumers take every entry of their queue.
 */
export function describeInboundQueueContract(name: string, makeSubject: (options: InboundQueueSubjectOptions) => Promise<InboundQueueSubject>): void {
  describe(`InboundQueue contract: ${name}`, () => {
    let subject: InboundQueueSubject;
    let queue: InboundQueue;
    let consumers: QueueConsumer[];
    let gates: Array<Deferred<void>>;
    let timeoutMs: number;
    let quietMs: number;

    beforeEach(async () => {
      subject = await makeSubject({});
      queue = subject.queue;
      consumers = [];
      gates = [];
      timeoutMs = subject.deliveryTimeoutMs ?? 2_000;
      quietMs = subject.quietPeriodMs ?? 50;
    });

    afterEach(async () => {
      for (const c of consumers) await c.stop({ abandonInFlight: true });
      for (const g of gates) g.resolve();
      await subject.cleanup();
    });

    function consume(handler: (entry: QueueEntry) => Promise<void>, options?: ConsumeOptions): QueueConsumer {
      const consumer = queue.consume(uniqueId('consumer'), handler, options);
      consumers.push(consumer);
      return consumer;
    }

    /** A promise a handler can wait on; released by the test or, at the latest, after the test. */
    function gate(): Deferred<void> {
      const g = deferred();
      gates.push(g);
      return g;
    }

    async function enqueueAll(key: string, payloads: readonly string[]): Promise<void> {
      for (const payload of payloads) {
        expect(await queue.enqueue(key, payload, UNBOUNDED)).toMatchObject({ accepted: true });
      }
    }

    const label = (e: QueueEntry): string => `${e.payload}/${e.redeliveries}`;

    it('hands every accepted entry to a consumer, with its key and payload and redeliveries 0', async () => {
      const keys = [0, 1, 2, 3, 4].map(() => uniqueId('key'));
      const expected: string[] = [];
      const received: QueueEntry[] = [];
      const enqueueRound = async (round: string): Promise<void> => {
        for (let i = 0; i < 50; i++) {
          const key = keys[i % keys.length]!;
          const payload = `${round}-${i} ✓ {"x":1}`;
          expected.push(`${key}|${payload}`);
          expect(await queue.enqueue(key, payload, UNBOUNDED)).toMatchObject({ accepted: true });
        }
      };
      await enqueueRound('before-consumer');
      consume(async (entry) => { received.push({ ...entry }); });
      await enqueueRound('while-consuming');
      await eventually(() => expect(received).toHaveLength(100), { timeoutMs });
      await sleep(quietMs);
      expect(received.map((e) => `${e.key}|${e.payload}`).sort()).toEqual([...expected].sort());
      expect(received.every((e) => e.redeliveries === 0)).toBe(true);
    });

    it('with several consumers and slow handlers, hands out each key in enqueue order and never two of a key at once', async () => {
      const keys = [0, 1, 2, 3, 4, 5].map(() => uniqueId('key'));
      const enqueued = new Map<string, string[]>(keys.map((k) => [k, []]));
      const processed = new Map<string, string[]>(keys.map((k) => [k, []]));
      const active = new Set<string>();
      const overlaps: string[] = [];
      const redelivered: string[] = [];
      const handler = async (entry: QueueEntry): Promise<void> => {
        if (active.has(entry.key)) overlaps.push(`${entry.key}: ${entry.payload}`);
        active.add(entry.key);
        if (entry.redeliveries !== 0) redelivered.push(label(entry));
        await sleep(Math.floor(Math.random() * 4));
        processed.get(entry.key)!.push(entry.payload);
        active.delete(entry.key);
      };
      const enqueueSome = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++) {
          const key = keys[Math.floor(Math.random() * keys.length)]!;
          const payload = `${key}#${enqueued.get(key)!.length}`;
          enqueued.get(key)!.push(payload);
          expect(await queue.enqueue(key, payload, UNBOUNDED)).toMatchObject({ accepted: true });
        }
      };
      await enqueueSome(60);
      for (let c = 0; c < 4; c++) consume(handler);
      await enqueueSome(60);
      await sleep(5);
      await enqueueSome(60);
      await eventually(() => {
        for (const k of keys) expect(processed.get(k)).toHaveLength(enqueued.get(k)!.length);
      }, { timeoutMs: timeoutMs * 3 });
      for (const k of keys) expect(processed.get(k)).toEqual(enqueued.get(k));
      expect(overlaps).toEqual([]);
      expect(redelivered).toEqual([]);
    });

    it('processes entries of different keys concurrently', async () => {
      const keyA = uniqueId('key-a');
      const keyB = uniqueId('key-b');
      const started = new Set<string>();
      const release = gate();
      const handler = async (entry: QueueEntry): Promise<void> => {
        started.add(entry.key);
        await release.promise;
      };
      consume(handler);
      consume(handler);
      await queue.enqueue(keyA, 'a', UNBOUNDED);
      await queue.enqueue(keyB, 'b', UNBOUNDED);
      // Neither handler finishes before the other one started.
      await eventually(() => expect([...started].sort()).toEqual([keyA, keyB].sort()), { timeoutMs });
      release.resolve();
    });

    for (const style of ['rejects (async handler)', 'throws synchronously (plain function)'] as const) {
      it(`hands an entry out again when its handler ${style}, counting redeliveries, and keeps the key's order`, async () => {
        const key = uniqueId('key-fail');
        const deliveries: string[] = [];
        const failWhile = (e: QueueEntry): boolean =>
          (e.payload === 'e1' && e.redeliveries < 2) || (e.payload === 'e3' && e.redeliveries < 1);
        const handler = style === 'rejects (async handler)'
          ? async (entry: QueueEntry): Promise<void> => {
            deliveries.push(label(entry));
            await sleep(1);
            if (failWhile(entry)) throw new Error(`planned failure of ${label(entry)}`);
          }
          : (entry: QueueEntry): Promise<void> => {
            deliveries.push(label(entry));
            if (failWhile(entry)) throw new Error(`planned failure of ${label(entry)}`);
            return Promise.resolve();
          };
        for (let c = 0; c < 3; c++) consume(handler);
        await enqueueAll(key, ['e0', 'e1', 'e2', 'e3', 'e4']);
        const expected = ['e0/0', 'e1/0', 'e1/1', 'e1/2', 'e2/0', 'e3/0', 'e3/1', 'e4/0'];
        await eventually(() => expect(deliveries).toHaveLength(expected.length), { timeoutMs: timeoutMs * 3 });
        await sleep(quietMs);
        expect(deliveries).toEqual(expected);
      });
    }

    /** A fresh subject whose queue gives up after `poisonAttemptsMax` attempts; replaces the test's own. */
    async function poisonSubject(poisonAttemptsMax: number): Promise<void> {
      await subject.cleanup();
      subject = await makeSubject({ poisonAttemptsMax });
      queue = subject.queue;
    }

    it('dead-letters an entry whose handler fails poisonAttemptsMax times: reported once, recorded, never handed out again, and its key goes on', async () => {
      await poisonSubject(3);
      const key = uniqueId('key-poison');
      const otherKey = uniqueId('key-other');
      const deliveries: string[] = [];
      const letters: DeadLetter[] = [];
      consume(async (entry) => {
        deliveries.push(label(entry));
        if (entry.payload === 'poison') throw new Error('planned failure: this entry always fails');
      }, { onDeadLetter: (letter) => { letters.push(letter); } });
      await enqueueAll(key, ['e0', 'poison', 'e1']);
      await enqueueAll(otherKey, ['o0']);
      await eventually(() => expect(deliveries).toContain('e1/0'), { timeoutMs: timeoutMs * 3 });
      await sleep(quietMs);
      expect(deliveries.filter((d) => d.startsWith('poison'))).toEqual(['poison/0', 'poison/1', 'poison/2']);
      expect(deliveries.filter((d) => !d.startsWith('o'))).toEqual(['e0/0', 'poison/0', 'poison/1', 'poison/2', 'e1/0']);
      expect(deliveries).toContain('o0/0');
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ key, payload: 'poison', attempts: 3 });
      expect(letters[0]!.reason).toContain('planned failure');
      expect(letters[0]!.correlationId).toMatch(/\S/);
      expect(await queue.deadLetters(10)).toEqual([letters[0]]);
      // The key is not stuck: later entries flow, and nothing of the poison is pending.
      expect(await queue.enqueue(key, 'e2', 1)).toEqual({ accepted: true, pending: 1 });
      await eventually(() => expect(deliveries).toContain('e2/0'), { timeoutMs });
    });

    it('dead-letters an entry whose consumers die with it poisonAttemptsMax times, without handing it out again', async () => {
      await poisonSubject(2);
      const key = uniqueId('key-killer');
      const seen: string[] = [];
      const letters: DeadLetter[] = [];
      const onDeadLetter = (letter: DeadLetter): void => { letters.push(letter); };
      for (let round = 0; round < 2; round++) {
        const hang = gate();
        const doomed = consume(async (entry) => {
          seen.push(label(entry));
          if (entry.payload === 'killer') await hang.promise;
        }, { onDeadLetter });
        if (round === 0) await enqueueAll(key, ['killer', 'after']);
        await eventually(() => expect(seen).toHaveLength(round + 1), { timeoutMs });
        await doomed.stop({ abandonInFlight: true });
      }
      consume(async (entry) => { seen.push(label(entry)); }, { onDeadLetter });
      await eventually(() => expect(seen).toContain('after/0'), { timeoutMs: timeoutMs * 2 });
      await sleep(quietMs);
      expect(seen).toEqual(['killer/0', 'killer/1', 'after/0']);
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ key, payload: 'killer', attempts: 2 });
    });

    it('backs off between attempts on timers, so a handler that always fails never starves the event loop', async () => {
      await poisonSubject(1_000);
      const key = uniqueId('key-spin');
      let attempts = 0;
      let attemptsWhenTimerRan: number | undefined;
      let started = false;
      consume(async (entry) => {
        attempts++;
        if (!started) {
          started = true;
          setImmediate(() => { attemptsWhenTimerRan = attempts; });
        }
        // Stops failing eventually, so a queue that retries on microtasks ends (and fails below) instead of hanging.
        if (entry.redeliveries < 200) throw new Error('planned failure');
      });
      await enqueueAll(key, ['spin']);
      await eventually(() => expect(attemptsWhenTimerRan).toBeDefined(), { timeoutMs });
      // Before the fix the memory queue retried on the microtask queue: the check phase ran only after all 201 attempts.
      expect(attemptsWhenTimerRan).toBeLessThanOrEqual(2);
    });

    it('a crashed consumer (stop with abandonInFlight) returns at once and its in-flight entry goes to another consumer', async () => {
      const key = uniqueId('key-crash');
      const otherKey = uniqueId('key-other');
      const crashingGate = gate();
      const survivorGate = gate();
      const crashing: string[] = [];
      const survivor: string[] = [];
      const crashingConsumer = consume(async (entry) => {
        crashing.push(label(entry));
        await crashingGate.promise;
      });
      await enqueueAll(key, ['e0', 'e1']);
      await eventually(() => expect(crashing).toEqual(['e0/0']), { timeoutMs });

      consume(async (entry) => {
        survivor.push(label(entry));
        if (entry.payload === 'e0') await survivorGate.promise;
      });
      expect(await settlesWithin(crashingConsumer.stop({ abandonInFlight: true }), 500)).toBe(true);
      await eventually(() => expect(survivor).toEqual(['e0/1']), { timeoutMs });

      // The dead consumer's handler finishing late acknowledges nothing: e1 waits for e0 on the survivor.
      crashingGate.resolve();
      await sleep(quietMs);
      expect(survivor).toEqual(['e0/1']);

      survivorGate.resolve();
      await eventually(() => expect(survivor).toEqual(['e0/1', 'e1/0']), { timeoutMs });
      await queue.enqueue(otherKey, 'later', UNBOUNDED);
      await eventually(() => expect(survivor).toEqual(['e0/1', 'e1/0', 'later/0']), { timeoutMs });
      expect(crashing).toEqual(['e0/0']);
    });

    it('a graceful stop waits for handlers under way, acknowledges them, and takes no new entries', async () => {
      const key = uniqueId('key-graceful');
      const otherKey = uniqueId('key-other');
      const release = gate();
      const first: string[] = [];
      const second: string[] = [];
      const stopping = consume(async (entry) => {
        first.push(label(entry));
        if (entry.payload === 'e0') await release.promise;
      });
      await enqueueAll(key, ['e0', 'e1']);
      await eventually(() => expect(first).toEqual(['e0/0']), { timeoutMs });

      const stopped = stopping.stop();
      expect(await settlesWithin(stopped, quietMs * 2)).toBe(false);
      await queue.enqueue(otherKey, 'x', UNBOUNDED);
      await sleep(quietMs);
      expect(first).toEqual(['e0/0']);

      release.resolve();
      expect(await settlesWithin(stopped, timeoutMs)).toBe(true);
      consume(async (entry) => { second.push(label(entry)); });
      await eventually(() => expect([...second].sort()).toEqual(['e1/0', 'x/0']), { timeoutMs });
      await sleep(quietMs);
      expect([...second].sort()).toEqual(['e1/0', 'x/0']);
      expect(first).toEqual(['e0/0']);
    });

    it('refuses entries beyond maxPendingPerKey, saying so with the pending count, and accepts again after acknowledgements', async () => {
      const key = uniqueId('key-bounded');
      const otherKey = uniqueId('key-other');
      expect(await queue.enqueue(key, 'e0', 3)).toEqual({ accepted: true, pending: 1 });
      expect(await queue.enqueue(key, 'e1', 3)).toEqual({ accepted: true, pending: 2 });
      expect(await queue.enqueue(key, 'e2', 3)).toEqual({ accepted: true, pending: 3 });
      expect(await queue.enqueue(key, 'refused-1', 3)).toEqual({ accepted: false, pending: 3 });
      expect(await queue.enqueue(key, 'refused-2', 2)).toEqual({ accepted: false, pending: 3 });
      expect(await queue.enqueue(otherKey, 'o0', 3)).toEqual({ accepted: true, pending: 1 });

      const release = gate();
      const delivered: string[] = [];
      consume(async (entry) => {
        delivered.push(entry.payload);
        if (entry.payload === 'e0') await release.promise;
      });
      await eventually(() => expect(delivered).toContain('e0'), { timeoutMs });
      // The entry in flight is not acknowledged yet, so it still counts.
      expect(await queue.enqueue(key, 'refused-3', 3)).toEqual({ accepted: false, pending: 3 });

      release.resolve();
      await eventually(() => expect(delivered.filter((p) => p.startsWith('e'))).toEqual(['e0', 'e1', 'e2']), { timeoutMs });
      // Acknowledgement may trail the handler's resolution a little; a refused enqueue changes nothing.
      const result = await eventually(async () => {
        const r = await queue.enqueue(key, 'e3', 1);
        expect(r.accepted).toBe(true);
        return r;
      }, { timeoutMs });
      expect(result).toEqual({ accepted: true, pending: 1 });
      await eventually(() => expect(delivered.filter((p) => p.startsWith('e'))).toEqual(['e0', 'e1', 'e2', 'e3']), { timeoutMs });
      await sleep(quietMs);
      expect(delivered.filter((p) => p.startsWith('refused'))).toEqual([]);
      expect([...delivered].sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'o0']);
    });

    it('loses no entry when consumers crash, fail or stop at random moments, and keeps each key in order (property)', async () => {
      type Op =
        | { t: 'enqueue'; key: number; delayMs: number; failFirst: boolean }
        | { t: 'crash'; which: number }
        | { t: 'stop'; which: number }
        | { t: 'start' }
        | { t: 'wait'; ms: number };
      const opArb: fc.Arbitrary<Op> = fc.oneof(
        { weight: 6, arbitrary: fc.record({ t: fc.constant('enqueue' as const), key: fc.integer({ min: 0, max: 3 }), delayMs: fc.integer({ min: 0, max: 3 }), failFirst: fc.boolean() }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const), which: fc.nat() }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('stop' as const), which: fc.nat() }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('start' as const) }) },
        { weight: 2, arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 4 }) }) },
      );

      await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 50 }), async (ops) => {
        const run = await makeSubject({});
        const runTimeoutMs = run.deliveryTimeoutMs ?? 2_000;
        interface Worker { consumer: QueueConsumer; stopping: boolean; dead: boolean; holding: Set<string> }
        const live: Worker[] = [];
        const enqueued = new Map<string, string[]>();
        const firstProcessed = new Map<string, string[]>();
        const done = new Set<string>();
        const meta = new Map<string, { delayMs: number; failFirst: boolean }>();
        const active = new Set<string>();
        const violations: string[] = [];
        const runId = uniqueId('run');

        const start = (): void => {
          const worker: Worker = { consumer: undefined as unknown as QueueConsumer, stopping: false, dead: false, holding: new Set() };
          worker.consumer = run.queue.consume(uniqueId('consumer'), async (entry) => {
            if (worker.stopping) violations.push(`handed ${entry.payload} to a stopped consumer`);
            if (active.has(entry.key)) violations.push(`two entries of ${entry.key} at once (${entry.payload})`);
            active.add(entry.key);
            worker.holding.add(entry.key);
            try {
              const m = meta.get(entry.payload)!;
              await sleep(m.delayMs);
              if (worker.dead) return; // crashed meanwhile: this late result must be ignored
              if (m.failFirst && entry.redeliveries === 0) throw new Error('planned failure');
              if (!done.has(entry.payload)) {
                done.add(entry.payload);
                firstProcessed.get(entry.key)!.push(entry.payload);
              }
            } finally {
              if (!worker.dead) {
                active.delete(entry.key);
                worker.holding.delete(entry.key);
              }
            }
          });
          live.push(worker);
        };
        const kill = async (which: number, abandonInFlight: boolean): Promise<void> => {
          if (live.length === 0) return;
          const [worker] = live.splice(which % live.length, 1);
          worker!.stopping = true;
          if (abandonInFlight) {
            worker!.dead = true;
            for (const k of worker!.holding) active.delete(k);
            await worker!.consumer.stop({ abandonInFlight: true });
          } else {
            await worker!.consumer.stop();
            worker!.dead = true;
          }
        };

        try {
          start();
          let n = 0;
          for (const op of ops) {
            switch (op.t) {
              case 'enqueue': {
                const key = `${runId}-k${op.key}`;
                const payload = `${key}#${n++}`;
                if (!enqueued.has(key)) {
                  enqueued.set(key, []);
                  firstProcessed.set(key, []);
                }
                enqueued.get(key)!.push(payload);
                meta.set(payload, { delayMs: op.delayMs, failFirst: op.failFirst });
                const r = await run.queue.enqueue(key, payload, UNBOUNDED);
                if (!r.accepted) violations.push(`refused ${payload} below the bound`);
                break;
              }
              case 'crash': await kill(op.which, true); break;
              case 'stop': await kill(op.which, false); break;
              case 'start': start(); break;
              case 'wait': await sleep(op.ms); break;
            }
          }
          if (live.length === 0) start();
          await eventually(() => expect(done.size).toBe(n), { timeoutMs: runTimeoutMs * 3 });
          expect(violations).toEqual([]);
          for (const [key, payloads] of enqueued) expect(firstProcessed.get(key)).toEqual(payloads);
        } finally {
          for (const w of live) {
            w.stopping = true;
            w.dead = true;
            await w.consumer.stop({ abandonInFlight: true });
          }
          await run.cleanup();
        }
      }), { numRuns: subject.propertyRuns ?? 25, interruptAfterTimeLimit: 100_000 });
    }, 120_000);
  });
}
