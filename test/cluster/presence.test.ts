import { afterEach, describe, expect, it } from 'vitest';
import { CountingBroker } from '../../server/memory/CountingBroker.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import type { PresenceEntry, PresenceStore, UserPresence } from '../../server/ports/PresenceStore.ts';
import { PresenceService } from '../../server/presence/PresenceService.ts';
import { PRESENCE_EVENTS_CHANNEL } from '../../server/protocol/envelopes.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle, type TestClient } from '../support/TestClient.ts';

// Fake time: the debounce window passes only when the test advances the clock.
const limits = { presenceDebounceMs: 30_000, heartbeatTimeoutMs: 3_600_000, presenceTtlMs: 3_600_000 };

function presenceOf(client: TestClient, user: string, online: boolean): Array<Record<string, unknown>> {
  return client.ofType('presence').filter((f) => f.user === user && f.online === online);
}

describe('presence with a debounced offline broadcast', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('never shows a short disconnect as offline, shows a long one once, and pushes only to online friends', async () => {
    const broker = new CountingBroker(new MemoryBroker());
    h = await startHarness({ limits, backends: { broker } });
    await h.befriend('alice', 'bob');
    await h.befriend('carol', 'bob'); // carol stays offline
    await h.login('dave'); // online, not a friend
    const alice = await h.connect('alice', { gateway: 0 });
    const dave = await h.connect('dave', { gateway: 1 });
    await settle();

    broker.reset();
    let bob = await h.connect('bob', { gateway: 1 });
    await alice.next((f) => f.type === 'presence' && f.user === 'bob' && f.online === true);
    await settle();
    // One online friend (alice, on gw1's sibling gw... gateway index 0 = "gw1"): one publish there, none elsewhere.
    const presencePublishes = [...broker.publishesByChannel].filter(([ch]) => ch.startsWith('gw:'));
    expect(presencePublishes).toEqual([['gw:gw1', 1]]);
    expect(dave.ofType('presence')).toHaveLength(0);

    // A flap shorter than the debounce window: nobody sees offline, and no online either.
    bob.close();
    await bob.waitClosed();
    await settle();
    h.time.advance(10_000);
    bob = await h.connect('bob', { gateway: 0 });
    await settle();
    h.time.advance(60_000);
    await settle();
    expect(presenceOf(alice, 'bob', false)).toHaveLength(0);
    expect(presenceOf(alice, 'bob', true)).toHaveLength(1);

    // Multi-device: one of two devices leaving is not offline.
    const bobTablet = await h.connect('bob', { device: 'tablet', gateway: 1 });
    bob.close();
    await bob.waitClosed();
    await settle();
    h.time.advance(60_000);
    await settle();
    expect(presenceOf(alice, 'bob', false)).toHaveLength(0);

    // Gone for longer than the window: offline shows once, at the end of the window.
    bobTablet.close();
    await bobTablet.waitClosed();
    await settle();
    h.time.advance(29_000);
    await settle();
    expect(presenceOf(alice, 'bob', false)).toHaveLength(0);
    h.time.advance(2_000);
    await alice.next((f) => f.type === 'presence' && f.user === 'bob' && f.online === false);
    h.time.advance(120_000);
    await settle();
    expect(presenceOf(alice, 'bob', false)).toHaveLength(1);
    expect(presenceOf(alice, 'bob', false)[0]).toHaveProperty('lastSeenMs');
    expect(dave.ofType('presence')).toHaveLength(0);

    // The lazy query answers for friends only, consistent with the broadcasts.
    alice.send({ type: 'presence_query', id: 'q1', users: ['bob', 'dave'] });
    const answer = await alice.next((f) => f.type === 'presence_result');
    expect(answer.users).toEqual([expect.objectContaining({ user: 'bob', online: false })]);
  });

  it('notices a gateway that died without a word through the presence TTL', async () => {
    h = await startHarness({ limits: { ...limits, presenceTtlMs: 9_000 } });
    await h.befriend('alice', 'bob');
    const alice = await h.connect('alice', { gateway: 0 });
    await h.connect('bob', { gateway: 1 });
    await alice.next((f) => f.type === 'presence' && f.user === 'bob' && f.online === true);
    await h.cluster.gateways[1]!.crash();
    await settle();
    // Alice keeps her own presence alive with pings while time passes.
    for (let elapsedMs = 0; elapsedMs < 9_000 + 29_000; elapsedMs += 1_000) {
      alice.sendRaw('{"type":"ping"}');
      await settle(5);
      h.time.advance(1_000);
    }
    await settle();
    expect(presenceOf(alice, 'bob', false)).toHaveLength(0);
    for (let i = 0; i < 5; i++) {
      alice.sendRaw('{"type":"ping"}');
      await settle(5);
      h.time.advance(1_000);
    }
    await alice.next((f) => f.type === 'presence' && f.user === 'bob' && f.online === false);
    expect(alice.closeCode).toBeUndefined();
  });

  it('a presence query agrees with the broadcasts when an entry has expired but is not swept yet', async () => {
    // Found by `chatsim run scenarios/bugs/stale-presence-ttl.yaml --checks all` on the correct
    // cluster: a query between expiry and sweep answered offline, the service (which had not
    // noticed) never announced it, so the user's return was never pushed (D3, D4).
    h = await startHarness({ limits: { ...limits, presenceTtlMs: 5_000, presenceDebounceMs: 5_000, presenceSweepIntervalMs: 2_000 } });
    await h.befriend('alice', 'bob');
    const alice = await h.connect('alice', { gateway: 0 });
    const bob = await h.connect('bob', { gateway: 1 });
    await alice.next((f) => f.type === 'presence' && f.user === 'bob' && f.online === true);
    const ask = async (id: string): Promise<unknown> => {
      alice.send({ type: 'presence_query', id, users: ['bob'] });
      return ((await alice.next((f) => f.type === 'presence_result' && f.ref === id)).users as Array<{ online: boolean }>)[0]!.online;
    };
    // Bob goes silent (no pings, socket up); alice keeps pinging. His entry expires at 5 s and is swept at 6 s.
    const pass = async (ms: number): Promise<void> => {
      for (let elapsedMs = 0; elapsedMs < ms; elapsedMs += 500) {
        alice.sendRaw('{"type":"ping"}');
        await settle(5);
        h.time.advance(500);
      }
      await settle();
    };
    await pass(5_500);
    expect(await ask('q-unswept')).toBe(true);
    await pass(5_000);
    expect(await ask('q-debounce')).toBe(true);
    await pass(1_000);
    await alice.next((f) => f.type === 'presence' && f.user === 'bob' && f.online === false);
    expect(await ask('q-gone')).toBe(false);
    bob.close();
    await h.connect('bob', { gateway: 0 });
    await alice.next((f) => f.type === 'presence' && f.user === 'bob' && f.online === true);
  });
});

/**
 * The presence service alone, on fake time, with a store whose reads can be held: a read
 * answers with the state at the moment it is made and is heard when the test releases it, as
 * a read on a slow store link is (the simulation's port latencies give 1-4 ms per store call).
 */
describe('presence service: events for one user are decided and announced in order', () => {
  class HeldReads implements PresenceStore {
    private readonly held: Array<() => void> = [];
    /** Which reads to hold, judged when the read is made. */
    hold: ((userIds: readonly string[]) => boolean) | undefined;
    constructor(private readonly inner: PresenceStore) {}
    put(entry: PresenceEntry, ttlMs: number): Promise<void> { return this.inner.put(entry, ttlMs); }
    refresh(userId: string, connectionId: string, ttlMs: number): Promise<boolean> { return this.inner.refresh(userId, connectionId, ttlMs); }
    remove(userId: string, connectionId: string): Promise<boolean> { return this.inner.remove(userId, connectionId); }
    sweepExpired(): Promise<PresenceEntry[]> { return this.inner.sweepExpired(); }
    sweepChanged(maxUsers: number): Promise<string[]> { return this.inner.sweepChanged(maxUsers); }
    epoch(): Promise<string> { return this.inner.epoch(); }
    async getMany(userIds: readonly string[]): Promise<Map<string, UserPresence>> {
      const held = this.hold?.(userIds) ?? false;
      const snapshot = await this.inner.getMany(userIds);
      if (!held) return snapshot;
      return new Promise((resolve) => this.held.push(() => resolve(snapshot)));
    }
    /** Hears the held reads, the last made first (the slowest link answers last). */
    async releaseNewestFirst(): Promise<void> {
      this.hold = undefined;
      while (this.held.length > 0) {
        this.held.pop()!();
        await flush();
      }
    }
  }
  const flush = async (): Promise<void> => { for (let i = 0; i < 20; i++) await Promise.resolve(); };
  const alice = { userId: 'alice', deviceId: 'd1', gatewayId: 'gw1' };

  async function start(): Promise<{ time: ManualTime; store: HeldReads; broker: MemoryBroker; seen: boolean[]; service: PresenceService }> {
    const time = new ManualTime();
    const store = new HeldReads(new MemoryPresenceStore(time));
    const broker = new MemoryBroker();
    const directory = new MemoryDirectory();
    await directory.addFriends('alice', 'bob');
    const service = new PresenceService({ time, broker, presence: store, directory, limits: resolveLimits({ presenceDebounceMs: 30_000, presenceTtlMs: 3_600_000 }) });
    await service.start();
    // bob is connected on gw1 and watches alice.
    await store.put({ userId: 'bob', connectionId: 'gw1.1', deviceId: 'd1', gatewayId: 'gw1' }, 3_600_000);
    const seen: boolean[] = [];
    await broker.subscribe('gw:gw1', (payload) => {
      const delivery = JSON.parse(payload) as { kind: string; frame: string };
      if (delivery.kind !== 'deliver') return; // the sweep's presence-mark (numbered pushes)
      const frame = JSON.parse(delivery.frame) as { user: string; online: boolean };
      if (frame.user === 'alice') seen.push(frame.online);
    });
    return { time, store, broker, seen, service };
  }
  const event = (broker: MemoryBroker, kind: 'connected' | 'disconnected', conn: string): Promise<number> =>
    broker.publish(PRESENCE_EVENTS_CHANNEL, JSON.stringify({ kind, user: 'alice', device: 'd1', conn, gw: 'gw1', atMs: 0 }));

  it('alice coming back while the debounce read is in flight ends online for bob', async () => {
    const { time, store, broker, seen, service } = await start();
    await store.put({ ...alice, connectionId: 'gw1.2' }, 3_600_000);
    await event(broker, 'connected', 'gw1.2');
    await flush();
    await store.remove('alice', 'gw1.2');
    await event(broker, 'disconnected', 'gw1.2');
    await flush();
    // The debounce ends; its read of alice's presence (no entry) is slow. alice reconnects meanwhile.
    store.hold = (users) => users.includes('alice');
    time.advance(30_000);
    store.hold = undefined;
    await flush();
    await store.put({ ...alice, connectionId: 'gw1.3' }, 3_600_000);
    await event(broker, 'connected', 'gw1.3');
    await flush();
    await store.releaseNewestFirst();
    await flush();
    expect(seen.at(-1), `bob was told ${JSON.stringify(seen)}`).toBe(true);
    await service.stop();
  });

  it('an online decided after an offline is published after it, whichever store read answers first', async () => {
    const { time, store, broker, seen, service } = await start();
    await store.put({ ...alice, connectionId: 'gw1.2' }, 3_600_000);
    await event(broker, 'connected', 'gw1.2');
    await flush();
    await store.remove('alice', 'gw1.2');
    await event(broker, 'disconnected', 'gw1.2');
    await flush();
    // The offline is decided; the broadcast's read of where bob is connected is slow, and so is the online's.
    store.hold = (users) => users.includes('bob');
    time.advance(30_000);
    await flush();
    await store.put({ ...alice, connectionId: 'gw1.3' }, 3_600_000);
    await event(broker, 'connected', 'gw1.3');
    await flush();
    await store.releaseNewestFirst();
    await flush();
    expect(seen.at(-1), `bob was told ${JSON.stringify(seen)}`).toBe(true);
    await service.stop();
  });

  // Issue 14, R2: the gateway's events ride the broker, which may lose them (at most once). The
  // service must find every change in the store itself, not only hear of it.
  it('finds a removal whose event was lost and announces offline after the debounce (R2)', async () => {
    const { time, store, broker, seen, service } = await start();
    await store.put({ ...alice, connectionId: 'gw1.2' }, 3_600_000);
    await event(broker, 'connected', 'gw1.2');
    await flush();
    expect(seen).toEqual([true]);
    await store.remove('alice', 'gw1.2'); // the 'disconnected' event is lost
    for (let s = 0; s < 32; s++) {
      time.advance(1_000);
      await flush();
    }
    expect(seen, `bob was told ${JSON.stringify(seen)}`).toEqual([true, false]);
    await service.stop();
  });

  it('finds a return whose event was lost and announces online within a sweep (R2)', async () => {
    const { time, store, broker, seen, service } = await start();
    await store.put({ ...alice, connectionId: 'gw1.2' }, 3_600_000);
    await event(broker, 'connected', 'gw1.2');
    await flush();
    await store.remove('alice', 'gw1.2');
    await event(broker, 'disconnected', 'gw1.2');
    for (let s = 0; s < 31; s++) {
      time.advance(1_000);
      await flush();
    }
    expect(seen).toEqual([true, false]);
    await store.put({ ...alice, connectionId: 'gw1.3' }, 3_600_000); // the 'connected' event is lost
    for (let s = 0; s < 2; s++) {
      time.advance(1_000);
      await flush();
    }
    expect(seen, `bob was told ${JSON.stringify(seen)}`).toEqual([true, false, true]);
    await service.stop();
  });
});

