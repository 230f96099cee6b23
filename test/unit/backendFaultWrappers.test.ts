// The backend fault wrappers (server/faults/): each passes everything through outside its
// windows and does exactly its fault inside one, on the memory ports and a ManualTime.
import { describe, expect, it } from 'vitest';
import { DisorderingBroker } from '../../server/faults/DisorderingBroker.ts';
import { FaultyMessageStore } from '../../server/faults/FaultyMessageStore.ts';
import { BackendUnavailable } from '../../server/faults/FaultWindows.ts';
import { LossyBroker } from '../../server/faults/LossyBroker.ts';
import { PRESENCE_DOWN_FAIL_AFTER_MS, RestartablePresenceStore } from '../../server/faults/RestartablePresenceStore.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';

const T0 = 1_700_000_000_000;

async function runFor(time: ManualTime, ms: number): Promise<void> {
  const until = time.nowMs() + ms;
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!time.fireNextInstant(until)) break;
  }
  time.jumpTo(until);
  await new Promise((resolve) => setImmediate(resolve));
}

const message = (clientMsgId: string) => ({ chatId: 'c1', senderId: 'alice', senderDeviceId: 'd1', clientMsgId, body: 'b', msgId: clientMsgId, sentAtMs: T0 });

describe('FaultyMessageStore', () => {
  it('fails every call during an outage without reaching the store, and passes through after it', async () => {
    const time = new ManualTime(T0);
    const store = new FaultyMessageStore(new MemoryMessageStore(), time);
    const end = store.startOutage();
    const failed = store.append(message('m1')).then(() => 'stored', (error: unknown) => error);
    await runFor(time, 100);
    expect(await failed).toBeInstanceOf(BackendUnavailable);
    end();
    expect((await store.append(message('m2'))).message.seq).toBe(1); // m1 never reached the store
    expect(store.stats.failed).toBe(1);
  });

  it('delays every call by the window latency during a slowdown', async () => {
    const time = new ManualTime(T0);
    const store = new FaultyMessageStore(new MemoryMessageStore(), time);
    const end = store.startSlowdown(500);
    let done = false;
    void store.append(message('m1')).then(() => { done = true; });
    await runFor(time, 499);
    expect(done).toBe(false);
    await runFor(time, 1);
    expect(done).toBe(true);
    end();
    expect((await store.append(message('m2'))).created).toBe(true);
  });
});

describe('RestartablePresenceStore', () => {
  it('comes back empty after a restart, refuses calls while down, never sweeps the old life, and keeps what is written after', async () => {
    const time = new ManualTime(T0);
    const store = new RestartablePresenceStore(new MemoryPresenceStore(time), time);
    const entry = { userId: 'alice', connectionId: 'gw1.1', deviceId: 'd1', gatewayId: 'gw1' };
    await store.put(entry, 10_000);
    expect((await store.getMany(['alice'])).get('alice')?.entries).toEqual([entry]);
    const up = store.restart();
    const refused = store.getMany(['alice']).then(() => 'answered', (error: unknown) => error);
    await runFor(time, 10);
    expect(await refused).toBeInstanceOf(BackendUnavailable);
    up();
    expect((await store.getMany(['alice'])).get('alice')?.entries ?? []).toEqual([]);
    expect(await store.refresh('alice', 'gw1.1', 10_000)).toBe(false);
    await store.put({ ...entry, connectionId: 'gw1.2' }, 20_000);
    await runFor(time, 15_000); // the old life's entry expires behind the scenes
    expect(await store.sweepExpired()).toEqual([]);
    expect((await store.getMany(['alice'])).get('alice')?.entries.map((e) => e.connectionId)).toEqual(['gw1.2']);
  });
});

describe('broker fault windows', () => {
  async function subscribed(broker: { subscribe: MemoryBroker['subscribe'] }, channel: string): Promise<string[]> {
    const got: string[] = [];
    await broker.subscribe(channel, (p) => got.push(p));
    return got;
  }

  it('DisorderingBroker duplicates each payload with share 1, and passes through once the window ends', async () => {
    const time = new ManualTime(T0);
    const broker = new DisorderingBroker(new MemoryBroker(), time, new SeededRandom(1));
    const got = await subscribed(broker, 'ch');
    const end = broker.startDuplicates(1);
    await broker.publish('ch', 'a');
    end();
    await broker.publish('ch', 'b');
    await runFor(time, 10);
    expect(got).toEqual(['a', 'a', 'b']);
  });

  it('DisorderingBroker hands a held payload on after the next one of its channel, or after the hold bound', async () => {
    const time = new ManualTime(T0);
    const broker = new DisorderingBroker(new MemoryBroker(), time, new SeededRandom(1));
    const got = await subscribed(broker, 'ch');
    const end = broker.startReorders(1);
    await broker.publish('ch', '1'); // held
    await broker.publish('ch', '2'); // goes out at once (one payload per channel is held at a time), then 1
    await runFor(time, 10);
    expect(got).toEqual(['2', '1']);
    await broker.publish('ch', '3'); // held, and nothing follows
    await runFor(time, 100);
    expect(got).toEqual(['2', '1', '3']);
    end();
  });

  it('LossyBroker with a channel drops that channel only', async () => {
    const time = new ManualTime(T0);
    const broker = new LossyBroker(new MemoryBroker(), new SeededRandom(1));
    const lossy = await subscribed(broker, 'presence-events');
    const other = await subscribed(broker, 'gw:gw1');
    const end = broker.startLoss(1, 'presence-events');
    for (let i = 0; i < 5; i++) {
      await broker.publish('presence-events', `p${i}`);
      await broker.publish('gw:gw1', `g${i}`);
    }
    end();
    await broker.publish('presence-events', 'after');
    await runFor(time, 10);
    expect(lossy).toEqual(['after']);
    expect(other).toEqual(['g0', 'g1', 'g2', 'g3', 'g4']);
  });
});

describe('presence store epoch', () => {
  it('stays for a store that keeps its contents, and changes when a restart empties it', async () => {
    const time = new ManualTime(0);
    const memory = new MemoryPresenceStore(time);
    const store = new RestartablePresenceStore(memory, time);
    const first = await store.epoch();
    expect(await memory.epoch()).toBe(first);
    expect(await store.epoch()).toBe(first);
    const end = store.restart();
    const down = store.epoch();
    time.advance(PRESENCE_DOWN_FAIL_AFTER_MS);
    await expect(down).rejects.toThrow();
    end();
    const second = await store.epoch();
    expect(second).not.toBe(first);
    expect(await store.epoch()).toBe(second);
  });
});
