import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceEntry, PresenceStore, UserPresence } from '../../server/ports/PresenceStore.ts';
import { uniqueId } from './helpers.ts';

export interface PresenceStoreSubject {
  store: PresenceStore;
  /**
   * Moves the store's clock forward by `ms` and lets pending work settle. In-memory: a
   * ManualTime advance; against a real backend: a real sleep.
   */
  advance(ms: number): Promise<void>;
  /** The store's clock now (ms since the epoch), to check lastDisconnectAtMs against. */
  nowMs(): number;
  /** Tolerated difference between `nowMs()` and the store's own clock (default 0). */
  clockSlackMs?: number;
  /** Releases connections etc. Called after every test. */
  cleanup(): Promise<void>;
}

/**
 * TTLs are small so a real backend can run the suite with real sleeps. Expiry is asserted only
 * well past a TTL, and non-expiry only well before it (at least 250 ms either way).
 */
const SHORT_TTL = 300;
const MID_TTL = 700;
const LONG_TTL = 10_000;
/** Comfortably past SHORT_TTL. */
const PAST_SHORT = 700;

/** The PresenceStore contract (server/ports/PresenceStore.ts). `makeSubject` is called once per test. */
export function describePresenceStoreContract(name: string, makeSubject: () => Promise<PresenceStoreSubject>): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let subject: PresenceStoreSubject;
    let store: PresenceStore;

    beforeEach(async () => {
      subject = await makeSubject();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    function entry(userId: string, suffix = 'a', gatewayId = 'gw-1'): PresenceEntry {
      return { userId, connectionId: `${userId}-conn-${suffix}`, deviceId: `${userId}-dev-${suffix}`, gatewayId };
    }

    async function presenceOf(userId: string): Promise<UserPresence> {
      const map = await store.getMany([userId]);
      const p = map.get(userId);
      expect(p).toBeDefined();
      return p!;
    }

    const byConnection = (a: PresenceEntry, b: PresenceEntry): number => a.connectionId.localeCompare(b.connectionId);

    async function entriesOf(userId: string): Promise<PresenceEntry[]> {
      return [...(await presenceOf(userId)).entries].sort(byConnection);
    }

    function expectTimeWithin(actual: number | undefined, fromMs: number, toMs: number): void {
      const slack = subject.clockSlackMs ?? 0;
      expect(actual).toBeTypeOf('number');
      expect(actual!).toBeGreaterThanOrEqual(fromMs - slack);
      expect(actual!).toBeLessThanOrEqual(toMs + slack);
    }

    /** Sweeps and keeps only the entries of `userIds` (a shared backend may hold others). */
    function ours(swept: PresenceEntry[], userIds: readonly string[]): PresenceEntry[] {
      return swept.filter((e) => userIds.includes(e.userId)).sort(byConnection);
    }

    it('getMany answers for many users in one call, with [] and no disconnect time for unknown users', async () => {
      const [u1, u2, u3, unknown] = ['u1', 'u2', 'u3', 'unknown'].map((p) => uniqueId(p)) as [string, string, string, string];
      const e1 = entry(u1, 'a', 'gw-1');
      const e2 = entry(u2, 'a', 'gw-2');
      const e3 = entry(u3, 'a', 'gw-1');
      await store.put(e1, LONG_TTL);
      await store.put(e2, LONG_TTL);
      await store.put(e3, LONG_TTL);

      const result = await store.getMany([u1, unknown, u2, u3]);
      expect([...result.keys()].sort()).toEqual([u1, u2, u3, unknown].sort());
      expect(result.get(u1)).toEqual({ entries: [e1] });
      expect(result.get(u2)).toEqual({ entries: [e2] });
      expect(result.get(u3)).toEqual({ entries: [e3] });
      expect(result.get(unknown)!.entries).toEqual([]);
      expect(result.get(unknown)!.lastDisconnectAtMs).toBeUndefined();
      expect(result.get(u1)!.lastDisconnectAtMs).toBeUndefined();

      expect((await store.getMany([])).size).toBe(0);
    });

    it('put replaces the entry of the same connection', async () => {
      const u = uniqueId('user');
      await store.put(entry(u, 'a', 'gw-old'), LONG_TTL);
      await store.put(entry(u, 'a', 'gw-new'), LONG_TTL);
      expect(await entriesOf(u)).toEqual([entry(u, 'a', 'gw-new')]);
    });

    it('put replaces the expiry too: the replacement expires ttlMs after the second put', async () => {
      const u = uniqueId('user');
      await store.put(entry(u), MID_TTL);
      await subject.advance(400);
      await store.put(entry(u), MID_TTL);
      await subject.advance(400); // 800 ms after the first put, 400 ms after the second
      expect(await entriesOf(u)).toEqual([entry(u)]);
      await subject.advance(800);
      expect(await entriesOf(u)).toEqual([]);
    });

    it('keeps one entry per connection: two devices of one user are both present', async () => {
      const u = uniqueId('user');
      const phone = entry(u, 'phone', 'gw-1');
      const laptop = entry(u, 'laptop', 'gw-2');
      await store.put(phone, LONG_TTL);
      await store.put(laptop, LONG_TTL);
      expect(await entriesOf(u)).toEqual([laptop, phone].sort(byConnection));
      expect((await presenceOf(u)).lastDisconnectAtMs).toBeUndefined();
    });

    it('remove returns whether the entry existed and records the disconnect time only when the last entry goes', async () => {
      const u = uniqueId('user');
      const other = uniqueId('user-other');
      const phone = entry(u, 'phone', 'gw-1');
      const laptop = entry(u, 'laptop', 'gw-2');
      await store.put(phone, LONG_TTL);
      await store.put(laptop, LONG_TTL);

      expect(await store.remove(u, phone.connectionId)).toBe(true);
      expect(await presenceOf(u)).toEqual({ entries: [laptop] });
      expect(await store.remove(u, phone.connectionId)).toBe(false);

      await subject.advance(50);
      const before = subject.nowMs();
      expect(await store.remove(u, laptop.connectionId)).toBe(true);
      const after = subject.nowMs();
      const gone = await presenceOf(u);
      expect(gone.entries).toEqual([]);
      expectTimeWithin(gone.lastDisconnectAtMs, before, after);
      // Its age is on the store's own clock (a reader's wall clock may be skewed or stepped).
      await subject.advance(50);
      const aged = await presenceOf(u);
      const slackMs = subject.clockSlackMs ?? 0;
      expect(aged.lastDisconnectAgeMs!).toBeGreaterThanOrEqual(50 - slackMs);
      expect(aged.lastDisconnectAgeMs!).toBeLessThanOrEqual(subject.nowMs() - before + slackMs);

      expect(await store.remove(u, laptop.connectionId)).toBe(false);
      expect(await store.remove(other, 'no-such-connection')).toBe(false);
      expect((await presenceOf(other)).lastDisconnectAtMs).toBeUndefined();
      // A connection id of another user is not this user's entry.
      await store.put(entry(other), LONG_TTL);
      expect(await store.remove(u, entry(other).connectionId)).toBe(false);
      expect(await entriesOf(other)).toEqual([entry(other)]);
    });

    it('reports no disconnect time while the user is connected again, and a newer one after the next disconnect', async () => {
      const u = uniqueId('user');
      await store.put(entry(u), LONG_TTL);
      await store.remove(u, entry(u).connectionId);
      const firstDisconnect = (await presenceOf(u)).lastDisconnectAtMs;
      expect(firstDisconnect).toBeTypeOf('number');

      await subject.advance(300);
      await store.put(entry(u, 'b'), LONG_TTL);
      expect(await presenceOf(u)).toEqual({ entries: [entry(u, 'b')] });

      await subject.advance(300);
      const before = subject.nowMs();
      await store.remove(u, entry(u, 'b').connectionId);
      const second = (await presenceOf(u)).lastDisconnectAtMs;
      expectTimeWithin(second, before, subject.nowMs());
      expect(second!).toBeGreaterThan(firstDisconnect!);
    });

    it('refresh pushes the expiry out and returns true', async () => {
      const u = uniqueId('user');
      await store.put(entry(u), MID_TTL);
      await subject.advance(400);
      expect(await store.refresh(u, entry(u).connectionId, MID_TTL)).toBe(true);
      await subject.advance(400); // 800 ms after put, 400 ms after refresh
      expect(await entriesOf(u)).toEqual([entry(u)]);
      expect(await store.refresh(u, entry(u).connectionId, MID_TTL)).toBe(true);
      await subject.advance(400);
      expect(await entriesOf(u)).toEqual([entry(u)]);
      await subject.advance(800); // 1,200 ms after the last refresh
      expect(await entriesOf(u)).toEqual([]);
    });

    it('refresh returns false, and creates nothing, for an entry that never existed or was removed', async () => {
      const u = uniqueId('user');
      expect(await store.refresh(u, 'no-such-connection', LONG_TTL)).toBe(false);
      await store.put(entry(u), LONG_TTL);
      expect(await store.refresh(u, 'no-such-connection', LONG_TTL)).toBe(false);
      await store.remove(u, entry(u).connectionId);
      expect(await store.refresh(u, entry(u).connectionId, LONG_TTL)).toBe(false);
      expect((await presenceOf(u)).entries).toEqual([]);
    });

    it('refresh returns false for an entry that expired, and does not bring it back', async () => {
      const u = uniqueId('user');
      await store.put(entry(u), SHORT_TTL);
      await subject.advance(PAST_SHORT);
      expect(await store.refresh(u, entry(u).connectionId, LONG_TTL)).toBe(false);
      expect((await presenceOf(u)).entries).toEqual([]);
    });

    it('getMany never returns expired entries, even before any sweep', async () => {
      const u = uniqueId('user');
      const gone = uniqueId('user-gone');
      const shortLived = entry(u, 'short');
      const longLived = entry(u, 'long');
      await store.put(shortLived, SHORT_TTL);
      await store.put(longLived, LONG_TTL);
      await store.put(entry(gone), SHORT_TTL);
      expect(await entriesOf(u)).toEqual([longLived, shortLived].sort(byConnection));
      await subject.advance(PAST_SHORT);
      const result = await store.getMany([u, gone]);
      expect(result.get(u)!.entries).toEqual([longLived]);
      expect(result.get(u)!.lastDisconnectAtMs).toBeUndefined();
      expect(result.get(gone)!.entries).toEqual([]);
    });

    it('an expired user is awaiting the sweep until swept, then has a last disconnect', async () => {
      const u = uniqueId('user');
      const never = uniqueId('user-never');
      await store.put(entry(u), SHORT_TTL);
      await subject.advance(PAST_SHORT);
      // Not swept yet: gone, but the presence service has not noticed, so a presence query must
      // not answer "offline" (the service would never announce the user's return).
      expect(await presenceOf(u)).toEqual({ entries: [], awaitingSweep: true });
      expect(await presenceOf(never)).toEqual({ entries: [] });
      const sweptFrom = subject.nowMs();
      await store.sweepExpired();
      const presence = await presenceOf(u);
      expect(presence.awaitingSweep).toBeUndefined();
      expectTimeWithin(presence.lastDisconnectAtMs, sweptFrom, subject.nowMs());
    });

    it('sweepExpired returns nothing that has not expired', async () => {
      const u = uniqueId('user');
      await store.put(entry(u, 'a'), MID_TTL);
      await store.put(entry(u, 'b'), LONG_TTL);
      await subject.advance(200);
      expect(ours(await store.sweepExpired(), [u])).toEqual([]);
      expect(await entriesOf(u)).toEqual([entry(u, 'a'), entry(u, 'b')]);
    });

    it('sweepExpired removes and returns each expired entry exactly once, even with concurrent sweepers', async () => {
      const [solo, mixed, live] = ['solo', 'mixed', 'live'].map((p) => uniqueId(p)) as [string, string, string];
      const users = [solo, mixed, live];
      const soloA = entry(solo, 'a', 'gw-dead');
      const soloB = entry(solo, 'b', 'gw-dead');
      const mixedShort = entry(mixed, 'short', 'gw-dead');
      const mixedLong = entry(mixed, 'long', 'gw-alive');
      const liveOne = entry(live, 'a', 'gw-alive');
      await store.put(soloA, SHORT_TTL);
      await store.put(soloB, SHORT_TTL);
      await store.put(mixedShort, SHORT_TTL);
      await store.put(mixedLong, LONG_TTL);
      await store.put(liveOne, LONG_TTL);
      const putAt = subject.nowMs();

      await subject.advance(PAST_SHORT);
      const sweeps = await Promise.all([store.sweepExpired(), store.sweepExpired(), store.sweepExpired()]);
      const sweptAt = subject.nowMs();
      expect(ours(sweeps.flat(), users)).toEqual([soloA, soloB, mixedShort].sort(byConnection));
      expect(ours(await store.sweepExpired(), users)).toEqual([]);

      const after = await store.getMany(users);
      expect(after.get(solo)!.entries).toEqual([]);
      expectTimeWithin(after.get(solo)!.lastDisconnectAtMs, putAt, sweptAt);
      expect(after.get(mixed)).toEqual({ entries: [mixedLong] });
      expect(after.get(live)).toEqual({ entries: [liveOne] });

      // Swept entries are gone for good.
      expect(await store.refresh(solo, soloA.connectionId, LONG_TTL)).toBe(false);
      expect(await store.remove(mixed, mixedShort.connectionId)).toBe(false);
      expect((await store.getMany([mixed])).get(mixed)).toEqual({ entries: [mixedLong] });
    });

    it('an entry that expires later is swept by a later call', async () => {
      const u = uniqueId('user');
      await store.put(entry(u, 'a'), SHORT_TTL);
      await store.put(entry(u, 'b'), 1_500);
      await subject.advance(PAST_SHORT);
      expect(ours(await store.sweepExpired(), [u])).toEqual([entry(u, 'a')]);
      expect((await presenceOf(u)).lastDisconnectAtMs).toBeUndefined();
      await subject.advance(1_300); // 2,000 ms after put
      const before = subject.nowMs();
      expect(ours(await store.sweepExpired(), [u])).toEqual([entry(u, 'b')]);
      const p = await presenceOf(u);
      expect(p.entries).toEqual([]);
      expectTimeWithin(p.lastDisconnectAtMs, before - 1_300, subject.nowMs());
    });

    /** Drains sweepChanged and keeps only `userIds` (a shared backend may hold others). */
    async function changedOf(userIds: readonly string[]): Promise<string[]> {
      const all: string[] = [];
      for (;;) {
        const batch = await store.sweepChanged(1_000);
        all.push(...batch);
        if (batch.length < 1_000) return all.filter((u) => userIds.includes(u)).sort();
      }
    }

    it('sweepChanged returns users whose entry was created or removed, once, and not for a refresh or a replacement', async () => {
      const [a, b, c] = ['a', 'b', 'c'].map((p) => uniqueId(`chg-${p}`)) as [string, string, string];
      await store.put(entry(a, 'x'), LONG_TTL);
      await store.put(entry(b, 'x'), LONG_TTL);
      expect(await changedOf([a, b, c])).toEqual([a, b].sort());
      expect(await changedOf([a, b, c])).toEqual([]);
      // A refresh and a put over an existing connection change nothing that matters.
      await store.refresh(a, entry(a, 'x').connectionId, LONG_TTL);
      await store.put(entry(b, 'x', 'gw-2'), LONG_TTL);
      expect(await changedOf([a, b, c])).toEqual([]);
      // A removal that found the entry is a change; one that found nothing is not.
      expect(await store.remove(a, entry(a, 'x').connectionId)).toBe(true);
      expect(await store.remove(c, entry(c, 'x').connectionId)).toBe(false);
      await store.put(entry(b, 'y'), LONG_TTL);
      await store.put(entry(b, 'z'), LONG_TTL);
      expect(await changedOf([a, b, c])).toEqual([a, b].sort());
    });

    it('sweepChanged hands each change to exactly one of several concurrent sweepers, at most maxUsers per call', async () => {
      const users = [...Array(12).keys()].map((i) => uniqueId(`many-${i}`));
      for (const u of users) await store.put(entry(u), LONG_TTL);
      const capped = await store.sweepChanged(5);
      expect(capped.length).toBeLessThanOrEqual(5);
      const sweeps = await Promise.all([store.sweepChanged(1_000), store.sweepChanged(1_000), store.sweepChanged(1_000)]);
      const mine = [...capped, ...sweeps.flat()].filter((u) => users.includes(u));
      expect(mine.sort()).toEqual([...users].sort());
      expect(await changedOf(users)).toEqual([]);
    });

    it('epoch names the contents: a non-empty string, the same on every read while the store keeps them', async () => {
      const first = await store.epoch();
      expect(first).toMatch(/\S/);
      await store.put({ userId: uniqueId('u'), connectionId: 'c1', deviceId: 'd1', gatewayId: 'gw1' }, LONG_TTL);
      await store.sweepExpired();
      expect(await store.epoch()).toBe(first);
    });
  });
}
