import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendInput, CursorKind, InboxEvent, MessageStore, StoredMessage } from '../../server/ports/MessageStore.ts';
import { tryMutate, uniqueId } from './helpers.ts';

export interface MessageStoreSubject {
  store: MessageStore;
  /** Releases connections etc. Called after every test. */
  cleanup(): Promise<void>;
  /** fast-check runs for the cursor property (default 50). */
  propertyRuns?: number;
}

/**
 * The MessageStore contract (server/ports/MessageStore.ts). `makeSubject` is called once per
 * test; chat and user ids are unique per test, so a shared backend is fine.
 */
export function describeMessageStoreContract(name: string, makeSubject: () => Promise<MessageStoreSubject>): void {
  describe(`MessageStore contract: ${name}`, () => {
    let subject: MessageStoreSubject;
    let store: MessageStore;
    let msgCounter = 0;

    beforeEach(async () => {
      subject = await makeSubject();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    function input(chatId: string, senderId: string, clientMsgId: string, body = `body of ${clientMsgId}`): AppendInput {
      msgCounter++;
      return {
        chatId, senderId, senderDeviceId: `${senderId}-phone`, clientMsgId, body,
        msgId: `${String(msgCounter).padStart(12, '0')}-${clientMsgId}`,
        sentAtMs: 1_700_000_000_000 + msgCounter,
      };
    }

    function stored(i: AppendInput, seq: number): StoredMessage {
      return {
        chatId: i.chatId, seq, msgId: i.msgId, senderId: i.senderId, senderDeviceId: i.senderDeviceId,
        clientMsgId: i.clientMsgId, body: i.body, sentAtMs: i.sentAtMs,
      };
    }

    /** Appends `count` messages from one sender; returns the inputs in seq order. */
    async function fill(chatId: string, count: number, senderId = 'alice'): Promise<AppendInput[]> {
      const inputs: AppendInput[] = [];
      for (let i = 0; i < count; i++) {
        const inp = input(chatId, senderId, `c${i + 1}`);
        inputs.push(inp);
        const r = await store.append(inp);
        expect(r.message.seq).toBe(i + 1);
      }
      return inputs;
    }

    it('epoch is a non-empty string that stays the same', () => {
      expect(typeof store.epoch).toBe('string');
      expect(store.epoch.length).toBeGreaterThan(0);
      expect(store.epoch).toBe(store.epoch);
    });

    describe('append', () => {
      it('gives a chat seq 1, 2, 3 in order, stores every field, and reports created', async () => {
        const chat = uniqueId('chat');
        const inputs = [input(chat, 'alice', 'a1'), input(chat, 'bob', 'b1'), input(chat, 'alice', 'a2')];
        const results = [];
        for (const i of inputs) results.push(await store.append(i));
        expect(results).toEqual(inputs.map((i, n) => ({ message: stored(i, n + 1), created: true })));
        expect(await store.headSeq(chat)).toBe(3);
        expect((await store.readChat(chat, 0, 10)).messages).toEqual(inputs.map((i, n) => stored(i, n + 1)));
      });

      it('numbers each chat independently', async () => {
        const chatA = uniqueId('chat-a');
        const chatB = uniqueId('chat-b');
        expect((await store.append(input(chatA, 'alice', 'x1'))).message.seq).toBe(1);
        expect((await store.append(input(chatA, 'alice', 'x2'))).message.seq).toBe(2);
        expect((await store.append(input(chatB, 'alice', 'x1'))).message.seq).toBe(1);
        expect((await store.append(input(chatA, 'alice', 'x3'))).message.seq).toBe(3);
        expect((await store.append(input(chatB, 'bob', 'y1'))).message.seq).toBe(2);
        expect(await store.headSeq(chatA)).toBe(3);
        expect(await store.headSeq(chatB)).toBe(2);
      });

      it('is idempotent on (chatId, senderId, clientMsgId): a repeat returns the stored message, created false, and stores nothing', async () => {
        const chat = uniqueId('chat');
        const first = input(chat, 'alice', 'dup');
        const original = await store.append(first);
        await store.append(input(chat, 'bob', 'other'));
        const repeat = { ...first, body: 'a different body', msgId: 'zzzz-different-id', sentAtMs: first.sentAtMs + 999, senderDeviceId: 'laptop' };
        const again = await store.append(repeat);
        expect(again).toEqual({ message: stored(first, 1), created: false });
        expect(again.message).toEqual(original.message);
        expect(await store.headSeq(chat)).toBe(2);
        const page = await store.readChat(chat, 0, 10);
        expect(page.messages.map((m) => [m.seq, m.clientMsgId, m.body])).toEqual([[1, 'dup', first.body], [2, 'other', 'body of other']]);
        expect((await store.tickState(chat)).lastSeqBySender).toEqual(new Map([['alice', 1], ['bob', 2]]));
      });

      it('findSend reads the stored message of a key without writing, and nothing for a key never appended', async () => {
        const chat = uniqueId('chat');
        const first = input(chat, 'alice', 'kept');
        await store.append(input(chat, 'bob', 'before'));
        await store.append(first);
        expect(await store.findSend(chat, 'alice', 'kept')).toEqual(stored(first, 2));
        expect(await store.findSend(chat, 'alice', 'never')).toBeUndefined();
        expect(await store.findSend(chat, 'carol', 'kept')).toBeUndefined();
        expect(await store.findSend(uniqueId('chat-none'), 'alice', 'kept')).toBeUndefined();
        expect(await store.headSeq(chat)).toBe(2);
        expect((await store.tickState(chat)).lastSeqBySender).toEqual(new Map([['bob', 1], ['alice', 2]]));
      });

      it('treats the same clientMsgId from another sender, or in another chat, as a new message', async () => {
        const chat = uniqueId('chat');
        const otherChat = uniqueId('chat-other');
        expect(await store.append(input(chat, 'alice', 'same'))).toMatchObject({ created: true, message: { seq: 1 } });
        expect(await store.append(input(chat, 'bob', 'same'))).toMatchObject({ created: true, message: { seq: 2, senderId: 'bob' } });
        expect(await store.append(input(otherChat, 'alice', 'same'))).toMatchObject({ created: true, message: { seq: 1, chatId: otherChat } });
        expect(await store.headSeq(chat)).toBe(2);
      });

      it('gives 100 concurrent appends distinct, contiguous seqs, each stored with its own content', async () => {
        const chat = uniqueId('chat');
        const inputs = Array.from({ length: 100 }, (_, i) => input(chat, `sender-${i % 7}`, `m${i}`));
        const results = await Promise.all(inputs.map((i) => store.append(i)));
        expect(results.every((r) => r.created)).toBe(true);
        const seqs = results.map((r) => r.message.seq).sort((a, b) => a - b);
        expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        expect(await store.headSeq(chat)).toBe(100);
        const page = await store.readChat(chat, 0, 1_000);
        expect(page.messages.map((m) => m.seq)).toEqual(seqs);
        const bySeq = new Map(results.map((r, n) => [r.message.seq, inputs[n]!]));
        for (const m of page.messages) expect(m).toEqual(stored(bySeq.get(m.seq)!, m.seq));
      });

      it('stores one message when the same append races with itself', async () => {
        const chat = uniqueId('chat');
        const one = input(chat, 'alice', 'raced');
        const results = await Promise.all(Array.from({ length: 10 }, () => store.append({ ...one })));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(results.map((r) => r.message)).toEqual(Array.from({ length: 10 }, () => stored(one, 1)));
        expect(await store.headSeq(chat)).toBe(1);
      });

      it('copies rows in and out: mutating the input or any returned row does not change the store', async () => {
        const chat = uniqueId('chat');
        const inp = input(chat, 'alice', 'c1', 'original');
        const expected = stored(inp, 1);
        const result = await store.append(inp);
        inp.body = 'mutated input';
        tryMutate(() => { result.message.body = 'mutated result'; });
        tryMutate(() => { result.message.seq = 99; });
        const page = await store.readChat(chat, 0, 10);
        expect(page.messages).toEqual([expected]);
        tryMutate(() => { page.messages[0]!.body = 'mutated page'; });
        tryMutate(() => { page.messages.push({ ...expected, seq: 2 }); });
        const repeat = await store.append(input(chat, 'alice', 'c1'));
        expect(repeat.message).toEqual(expected);
        tryMutate(() => { repeat.message.body = 'mutated repeat'; });
        expect((await store.readChat(chat, 0, 10)).messages).toEqual([expected]);
        expect(await store.headSeq(chat)).toBe(1);
      });
    });

    describe('readChat', () => {
      it('pages with afterSeq and limit, reporting hasMore and headSeq', async () => {
        const chat = uniqueId('chat');
        const inputs = await fill(chat, 25);
        const seqsOf = (ms: StoredMessage[]): number[] => ms.map((m) => m.seq);
        const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

        const p1 = await store.readChat(chat, 0, 10);
        expect(seqsOf(p1.messages)).toEqual(range(1, 10));
        expect(p1).toMatchObject({ headSeq: 25, hasMore: true });
        expect(p1.messages[0]).toEqual(stored(inputs[0]!, 1));

        const p2 = await store.readChat(chat, 10, 10);
        expect(seqsOf(p2.messages)).toEqual(range(11, 20));
        expect(p2).toMatchObject({ headSeq: 25, hasMore: true });

        const p3 = await store.readChat(chat, 20, 10);
        expect(seqsOf(p3.messages)).toEqual(range(21, 25));
        expect(p3).toMatchObject({ headSeq: 25, hasMore: false });

        const exact = await store.readChat(chat, 15, 10);
        expect(seqsOf(exact.messages)).toEqual(range(16, 25));
        expect(exact.hasMore).toBe(false);

        const all = await store.readChat(chat, 0, 25);
        expect(seqsOf(all.messages)).toEqual(range(1, 25));
        expect(all.hasMore).toBe(false);

        const oneShort = await store.readChat(chat, 0, 24);
        expect(oneShort.hasMore).toBe(true);

        const middle = await store.readChat(chat, 7, 3);
        expect(seqsOf(middle.messages)).toEqual([8, 9, 10]);
        expect(middle.hasMore).toBe(true);

        expect(await store.readChat(chat, 25, 10)).toEqual({ messages: [], headSeq: 25, hasMore: false });
        expect(await store.readChat(chat, 40, 10)).toEqual({ messages: [], headSeq: 25, hasMore: false });
      });

      it('sees messages appended after an earlier page', async () => {
        const chat = uniqueId('chat');
        await fill(chat, 3);
        expect(await store.readChat(chat, 3, 10)).toEqual({ messages: [], headSeq: 3, hasMore: false });
        const more = input(chat, 'bob', 'late');
        await store.append(more);
        expect(await store.readChat(chat, 3, 10)).toEqual({ messages: [stored(more, 4)], headSeq: 4, hasMore: false });
      });

      it('reads an unknown chat as empty with head 0', async () => {
        const chat = uniqueId('chat-unknown');
        expect(await store.readChat(chat, 0, 10)).toEqual({ messages: [], headSeq: 0, hasMore: false });
        expect(await store.headSeq(chat)).toBe(0);
      });
    });

    describe('cursors', () => {
      it('never decrease: advanceCursor stores the max and returns the value before and after', async () => {
        const chat = uniqueId('chat');
        expect(await store.advanceCursor(chat, 'bob', 'delivered', 5)).toEqual({ before: 0, after: 5 });
        expect(await store.advanceCursor(chat, 'bob', 'delivered', 3)).toEqual({ before: 5, after: 5 });
        expect(await store.advanceCursor(chat, 'bob', 'delivered', 5)).toEqual({ before: 5, after: 5 });
        expect(await store.advanceCursor(chat, 'bob', 'delivered', 8)).toEqual({ before: 5, after: 8 });
        expect(await store.getCursors(chat)).toEqual(new Map([['bob', { delivered: 8, read: 0 }]]));
      });

      it('are independent per kind, per user and per chat; getCursors lists only users with cursors', async () => {
        const chat = uniqueId('chat');
        const otherChat = uniqueId('chat-other');
        expect(await store.getCursors(chat)).toEqual(new Map());
        expect(await store.advanceCursor(chat, 'bob', 'delivered', 7)).toEqual({ before: 0, after: 7 });
        expect(await store.advanceCursor(chat, 'bob', 'read', 2)).toEqual({ before: 0, after: 2 });
        expect(await store.advanceCursor(chat, 'carol', 'read', 4)).toEqual({ before: 0, after: 4 });
        expect(await store.advanceCursor(otherChat, 'bob', 'delivered', 1)).toEqual({ before: 0, after: 1 });
        expect(await store.getCursors(chat)).toEqual(new Map([
          ['bob', { delivered: 7, read: 2 }],
          ['carol', { delivered: 0, read: 4 }],
        ]));
        expect(await store.getCursors(otherChat)).toEqual(new Map([['bob', { delivered: 1, read: 0 }]]));
      });

      it('getCursors returns a copy', async () => {
        const chat = uniqueId('chat');
        await store.advanceCursor(chat, 'bob', 'read', 3);
        const cursors = await store.getCursors(chat);
        tryMutate(() => { cursors.get('bob')!.read = 100; });
        tryMutate(() => { cursors.set('mallory', { delivered: 1, read: 1 }); });
        expect(await store.getCursors(chat)).toEqual(new Map([['bob', { delivered: 0, read: 3 }]]));
        expect(await store.advanceCursor(chat, 'bob', 'read', 4)).toEqual({ before: 3, after: 4 });
      });

      it('concurrent advances end at the max', async () => {
        const chat = uniqueId('chat');
        const ups = [3, 9, 1, 7, 9, 2, 5, 8];
        const results = await Promise.all(ups.map((u) => store.advanceCursor(chat, 'bob', 'delivered', u)));
        for (const [n, r] of results.entries()) expect(r.after).toBeGreaterThanOrEqual(Math.max(r.before, ups[n]!));
        expect((await store.getCursors(chat)).get('bob')).toEqual({ delivered: 9, read: 0 });
      });

      it('stored cursor is the running max of every upTo, for any sequence of advances (property)', async () => {
        const callArb = fc.record({
          user: fc.constantFrom('u1', 'u2', 'u3'),
          kind: fc.constantFrom<CursorKind>('delivered', 'read'),
          upTo: fc.nat({ max: 50 }),
        });
        await fc.assert(fc.asyncProperty(fc.array(callArb, { maxLength: 40 }), async (calls) => {
          const chat = uniqueId('chat-prop');
          const model = new Map<string, { delivered: number; read: number }>();
          for (const c of calls) {
            const current = model.get(c.user) ?? { delivered: 0, read: 0 };
            const before = current[c.kind];
            const after = Math.max(before, c.upTo);
            expect(await store.advanceCursor(chat, c.user, c.kind, c.upTo)).toEqual({ before, after });
            model.set(c.user, { ...current, [c.kind]: after });
          }
          expect(await store.getCursors(chat)).toEqual(model);
        }), { numRuns: subject.propertyRuns ?? 50 });
      });
    });

    describe('tickState.lastSeqBySender', () => {
      it('gives each sender the seq of their latest message', async () => {
        const chat = uniqueId('chat');
        await store.append(input(chat, 'alice', 'a1'));
        await store.append(input(chat, 'bob', 'b1'));
        await store.append(input(chat, 'alice', 'a2'));
        await store.append(input(chat, 'carol', 'c1'));
        await store.append(input(chat, 'carol', 'c2'));
        await store.append(input(chat, 'alice', 'a1')); // a repeat changes nothing
        expect((await store.tickState(chat)).lastSeqBySender).toEqual(new Map([['alice', 3], ['bob', 2], ['carol', 5]]));
        expect((await store.tickState(uniqueId('chat-unknown'))).lastSeqBySender).toEqual(new Map());
      });
    });

    describe('inbox', () => {
      it('appends events at positions 1, 2, 3 per user and reads them back', async () => {
        const user = uniqueId('user');
        const otherUser = uniqueId('user-other');
        const chat = uniqueId('chat');
        const msg = (await store.append(input(chat, 'alice', 'c1'))).message;
        const events: InboxEvent[] = [
          { kind: 'message', message: msg },
          { kind: 'receipt', chatId: chat, userId: 'bob', cursor: 'read', upTo: 1 },
          { kind: 'member_added', chatId: chat, userId: 'carol' },
          { kind: 'member_removed', chatId: chat, userId: 'carol' },
          { kind: 'chat_renamed', chatId: chat, name: 'Renamed ✓' },
          { kind: 'profile_changed', userId: 'alice', name: 'Alice' },
        ];
        for (const [n, e] of events.entries()) expect(await store.appendInbox(user, `ev-${n}`, e)).toBe(n + 1);
        expect(await store.appendInbox(otherUser, 'ev-0', events[2]!)).toBe(1);

        expect(await store.readInbox(user, 0, 100)).toEqual({
          events: events.map((event, n) => ({ position: n + 1, event })),
          headPosition: 6,
          hasMore: false,
        });
        expect(await store.readInbox(otherUser, 0, 100)).toEqual({
          events: [{ position: 1, event: events[2] }], headPosition: 1, hasMore: false,
        });
      });

      it('is idempotent on (userId, eventKey): a repeat returns the first position and adds nothing', async () => {
        const user = uniqueId('user');
        const e1: InboxEvent = { kind: 'member_added', chatId: 'c', userId: 'x' };
        const e2: InboxEvent = { kind: 'chat_renamed', chatId: 'c', name: 'n' };
        expect(await store.appendInbox(user, 'k1', e1)).toBe(1);
        expect(await store.appendInbox(user, 'k2', e2)).toBe(2);
        expect(await store.appendInbox(user, 'k1', { kind: 'chat_renamed', chatId: 'c', name: 'other' })).toBe(1);
        expect(await store.appendInbox(user, 'k2', e2)).toBe(2);
        expect(await store.readInbox(user, 0, 10)).toEqual({
          events: [{ position: 1, event: e1 }, { position: 2, event: e2 }], headPosition: 2, hasMore: false,
        });
      });

      it('pages with afterPosition and limit, reporting hasMore and headPosition', async () => {
        const user = uniqueId('user');
        for (let i = 1; i <= 12; i++) {
          expect(await store.appendInbox(user, `k${i}`, { kind: 'chat_renamed', chatId: 'c', name: `n${i}` })).toBe(i);
        }
        const positions = (p: { events: Array<{ position: number }> }): number[] => p.events.map((e) => e.position);
        const p1 = await store.readInbox(user, 0, 5);
        expect(positions(p1)).toEqual([1, 2, 3, 4, 5]);
        expect(p1).toMatchObject({ headPosition: 12, hasMore: true });
        expect(p1.events[4]!.event).toEqual({ kind: 'chat_renamed', chatId: 'c', name: 'n5' });
        const p2 = await store.readInbox(user, 5, 5);
        expect(positions(p2)).toEqual([6, 7, 8, 9, 10]);
        expect(p2.hasMore).toBe(true);
        const p3 = await store.readInbox(user, 10, 5);
        expect(positions(p3)).toEqual([11, 12]);
        expect(p3).toMatchObject({ headPosition: 12, hasMore: false });
        const exact = await store.readInbox(user, 7, 5);
        expect(positions(exact)).toEqual([8, 9, 10, 11, 12]);
        expect(exact.hasMore).toBe(false);
        expect(await store.readInbox(user, 12, 5)).toEqual({ events: [], headPosition: 12, hasMore: false });
      });

      it('reads an unknown user as an empty inbox', async () => {
        expect(await store.readInbox(uniqueId('user-unknown'), 0, 10)).toEqual({ events: [], headPosition: 0, hasMore: false });
      });

      it('copies events in and out', async () => {
        const user = uniqueId('user');
        const event = { kind: 'chat_renamed' as const, chatId: 'c', name: 'original' };
        await store.appendInbox(user, 'k', event);
        event.name = 'mutated input';
        const page = await store.readInbox(user, 0, 10);
        tryMutate(() => { (page.events[0]!.event as { name: string }).name = 'mutated output'; });
        expect((await store.readInbox(user, 0, 10)).events).toEqual([
          { position: 1, event: { kind: 'chat_renamed', chatId: 'c', name: 'original' } },
        ]);
      });
    });

    describe('tickState', () => {
      it('is getCursors and each sender\'s latest seq together; a sender without cursors has none', async () => {
        const chat = uniqueId('chat-ticks');
        expect(await store.tickState(chat)).toEqual({ cursors: new Map(), lastSeqBySender: new Map(), announced: new Map() });
        await store.append(input(chat, 'alice', 't1'));
        await store.append(input(chat, 'bob', 't2'));
        await store.append(input(chat, 'alice', 't3'));
        await store.advanceCursor(chat, 'bob', 'delivered', 3);
        await store.advanceCursor(chat, 'carol', 'read', 1);
        const state = await store.tickState(chat);
        expect(state).toEqual({
          cursors: new Map([['bob', { delivered: 3, read: 0 }], ['carol', { delivered: 0, read: 1 }]]),
          lastSeqBySender: new Map([['alice', 3], ['bob', 2]]),
          announced: new Map(),
        });
        expect(state.cursors).toEqual(await store.getCursors(chat));
      });
    });

    describe('announced ticks', () => {
      it('keep the max of every value given, per sender and kind, and come with tickState', async () => {
        const chat = uniqueId('chat-announced');
        await store.append(input(chat, 'alice', 'n1'));
        await store.raiseAnnounced(chat, 'alice', 'delivered', 3);
        await store.raiseAnnounced(chat, 'alice', 'delivered', 2);
        await store.raiseAnnounced(chat, 'alice', 'read', 1);
        await store.raiseAnnounced(chat, 'bob', 'read', 4);
        const state = await store.tickState(chat);
        expect(state.announced).toEqual(new Map([['alice', { delivered: 3, read: 1 }], ['bob', { delivered: 0, read: 4 }]]));
        // Announcements are not cursors, nor latest messages.
        expect(state.cursors).toEqual(new Map());
        expect(state.lastSeqBySender).toEqual(new Map([['alice', 1]]));
        expect((await store.tickState(uniqueId('chat-other'))).announced).toEqual(new Map());
      });

      it('end at the max whatever order concurrent raises arrive in', async () => {
        const chat = uniqueId('chat-announced-race');
        const values = [5, 1, 9, 3, 9, 2, 7];
        await Promise.all(values.map((v) => store.raiseAnnounced(chat, 'alice', 'delivered', v)));
        expect((await store.tickState(chat)).announced.get('alice')).toEqual({ delivered: 9, read: 0 });
      });
    });

    describe('reaches', () => {
      it('says whether the head is at least a seq', async () => {
        const chat = uniqueId('chat-reaches');
        expect(await store.reaches(chat, 0)).toBe(true);
        expect(await store.reaches(chat, 1)).toBe(false);
        for (const k of ['r1', 'r2', 'r3']) await store.append(input(chat, 'alice', k));
        expect(await store.reaches(chat, 3)).toBe(true);
        expect(await store.reaches(chat, 1)).toBe(true);
        expect(await store.reaches(chat, 4)).toBe(false);
        await store.append(input(chat, 'bob', 'r4'));
        expect(await store.reaches(chat, 4)).toBe(true);
        expect(await store.reaches(chat, 5)).toBe(false);
      });
    });

    describe('inbox marks', () => {
      it('keep per field the max of every value raised, per user and chat', async () => {
        const [user, other] = [uniqueId('user'), uniqueId('user')];
        const [chatA, chatB] = [uniqueId('chat'), uniqueId('chat')];
        expect(await store.getInboxMarks(user)).toEqual(new Map());
        await store.raiseInboxMark(user, chatA, { messages: 5, delivered: 3, read: 0 });
        await store.raiseInboxMark(user, chatA, { messages: 4, delivered: 7, read: 2 });
        await store.raiseInboxMark(user, chatB, { messages: 1, delivered: 0, read: 0 });
        await store.raiseInboxMark(other, chatA, { messages: 9, delivered: 9, read: 9 });
        expect(await store.getInboxMarks(user)).toEqual(new Map([
          [chatA, { messages: 5, delivered: 7, read: 2 }],
          [chatB, { messages: 1, delivered: 0, read: 0 }],
        ]));
        expect(await store.getInboxMarks(other)).toEqual(new Map([[chatA, { messages: 9, delivered: 9, read: 9 }]]));
      });

      it('end at the max whatever order concurrent raises arrive in (property)', async () => {
        await fc.assert(fc.asyncProperty(
          fc.array(fc.record({ messages: fc.nat(50), delivered: fc.nat(50), read: fc.nat(50) }), { minLength: 1, maxLength: 12 }),
          async (raises) => {
            const user = uniqueId('user');
            await Promise.all(raises.map((mark) => store.raiseInboxMark(user, 'c', mark)));
            const max = (field: 'messages' | 'delivered' | 'read'): number => Math.max(...raises.map((r) => r[field]));
            const stored = (await store.getInboxMarks(user)).get('c') ?? { messages: 0, delivered: 0, read: 0 };
            expect(stored).toEqual({ messages: max('messages'), delivered: max('delivered'), read: max('read') });
          },
        ), { numRuns: 15 });
      });
    });
  });
}
