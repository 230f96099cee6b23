import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatServer } from '../../server/chat/ChatServer.ts';
import { aggregateFor, cursorFloor, tickChanges, type MemberCursor } from '../../server/chat/groupTicks.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

describe('group tick arithmetic', () => {
  it('the aggregate for a sender is the minimum over the other members', () => {
    fc.assert(fc.property(fc.array(fc.nat(1000), { minLength: 2, maxLength: 30 }), fc.nat(), (cursors, pick) => {
      const members: MemberCursor[] = cursors.map((cursor, i) => ({ user: `u${i}`, cursor }));
      const sender = members[pick % members.length]!.user;
      const expected = Math.min(...members.filter((m) => m.user !== sender).map((m) => m.cursor));
      expect(aggregateFor(cursorFloor(members), sender)).toBe(expected);
    }));
  });

  it('announced ticks only grow and end at the true aggregate', () => {
    fc.assert(fc.property(
      fc.integer({ min: 2, max: 8 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(50)), { maxLength: 60 }),
      (size, moves) => {
        const members: MemberCursor[] = Array.from({ length: size }, (_, i) => ({ user: `u${i}`, cursor: 0 }));
        const lastSeq = new Map(members.map((m) => [m.user, 50]));
        const announced = new Map<string, number>();
        for (const [who, to] of moves) {
          const before = members.map((m) => ({ ...m }));
          const m = members[who % size]!;
          m.cursor = Math.max(m.cursor, to);
          for (const { sender, upTo } of tickChanges(before, members, lastSeq)) {
            expect(upTo).toBeGreaterThan(announced.get(sender) ?? 0);
            announced.set(sender, upTo);
          }
        }
        const floor = cursorFloor(members);
        for (const m of members) expect(announced.get(m.user) ?? 0).toBe(aggregateFor(floor, m.user));
      },
    ));
  });
});

describe('the chat server keeps cursors monotone and ticks equal to the member minimum', () => {
  it('holds for random acks and reads from random members, including stale and repeated ones', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 2, max: 6 }),
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.record({ member: fc.nat(), kind: fc.constantFrom('ack', 'read', 'typing'), upTo: fc.nat(12) }), { maxLength: 40 }),
      async (size, messageCount, moves) => {
        const time = new ManualTime();
        const broker = new MemoryBroker();
        const store = new MemoryMessageStore();
        const directory = new MemoryDirectory();
        const presence = new MemoryPresenceStore(time);
        const server = new ChatServer({ id: 'cs', clock: time, queue: new MemoryInboundQueue({ timers: time }), broker, store, directory, presence, limits: resolveLimits() });
        const users = Array.from({ length: size }, (_, i) => `u${i}`);
        await directory.createChat({ id: 'g:g', kind: 'group', name: 'g', memberIds: users, createdAtMs: 0 });
        for (const u of users) await presence.put({ userId: u, connectionId: `c-${u}`, deviceId: 'd', gatewayId: 'gw' }, 1e9);
        const receipts: Array<{ to: string[]; kind: string; upTo: number }> = [];
        await broker.subscribe('gw:gw', (payload) => {
          const d = JSON.parse(payload);
          const frame = JSON.parse(d.frame);
          if (frame.type === 'receipt') receipts.push({ to: d.to, kind: frame.kind, upTo: frame.upTo });
        });
        const handle = (user: string, frame: object): Promise<void> =>
          server.handleEntry({ key: user, redeliveries: 0, payload: JSON.stringify({ gw: 'gw', conn: `c-${user}`, user, device: 'd', frame: JSON.stringify(frame) }) });
        for (let i = 0; i < messageCount; i++) await handle(users[i % size]!, { type: 'send', chat: 'g:g', clientMsgId: `m${i}`, body: 'b' });

        const seen = new Map<string, { delivered: number; read: number }>();
        for (const move of moves) {
          const user = users[move.member % size]!;
          const upTo = Math.min(move.upTo, messageCount);
          const frame = move.kind === 'typing' ? { type: 'typing', chat: 'g:g', read: upTo } : { type: move.kind, chat: 'g:g', upTo };
          await handle(user, frame);
          const cursors = (await store.getCursors('g:g')).get(user)!;
          const previous = seen.get(user) ?? { delivered: 0, read: 0 };
          // Cursors never decrease, and read never runs ahead of delivered.
          expect(cursors.delivered).toBeGreaterThanOrEqual(previous.delivered);
          expect(cursors.read).toBeGreaterThanOrEqual(previous.read);
          expect(cursors.read).toBeLessThanOrEqual(cursors.delivered);
          seen.set(user, cursors);
        }
        await new Promise((resolve) => setImmediate(resolve));
        // Each sender's ticks match the minimum cursor over the other members, as far as the
        // sender has messages to tick (receipts past a sender's last message are not owed).
        const cursors = await store.getCursors('g:g');
        const lastSeqOf = new Map<string, number>();
        for (let i = 0; i < messageCount; i++) lastSeqOf.set(users[i % size]!, i + 1);
        for (const [sender, lastSeq] of lastSeqOf) {
          for (const kind of ['delivered', 'read'] as const) {
            const truth = Math.min(...users.filter((u) => u !== sender).map((u) => cursors.get(u)?.[kind] ?? 0));
            const got = receipts.filter((r) => r.kind === kind && r.to.includes(`c-${sender}`)).map((r) => r.upTo);
            const shown = got.length === 0 ? 0 : Math.max(...got);
            expect(Math.min(shown, lastSeq)).toBe(Math.min(truth, lastSeq));
            expect(shown).toBeLessThanOrEqual(truth);
            for (let i = 1; i < got.length; i++) expect(got[i]!).toBeGreaterThan(got[i - 1]!);
            // The receipt rule: once a tick covers the sender's latest message, nothing more is owed.
            for (let i = 1; i < got.length; i++) expect(got[i - 1]!).toBeLessThan(lastSeq);
          }
        }
      },
    ), { numRuns: 60 });
  });
});
