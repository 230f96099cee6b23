import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';
import { GatedMessageStore } from '../support/GatedMessageStore.ts';

describe('two users over real WebSockets', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('acks only after persist, delivers, and turns ticks with one cumulative ack, read, and piggybacked read', async () => {
    const store = new GatedMessageStore();
    h = await startHarness({ backends: { store } });
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice', { gateway: 0 });
    const bob = await h.connect('bob', { gateway: 1 });

    // `sent` must not arrive while the store has not confirmed the write.
    store.hold();
    alice.send({ type: 'send', chat, clientMsgId: 'm1', body: 'hello' });
    await settle(150);
    expect(alice.ofType('sent')).toHaveLength(0);
    expect(store.confirmed.has('m1')).toBe(false);
    store.release();
    const sent1 = await alice.next((f) => f.type === 'sent' && f.ref === 'm1');
    expect(store.confirmed.has('m1')).toBe(true);
    expect(sent1).toMatchObject({ chat, seq: 1 });

    alice.send({ type: 'send', chat, clientMsgId: 'm2', body: 'second' });
    alice.send({ type: 'send', chat, clientMsgId: 'm3', body: 'third' });
    await alice.next((f) => f.type === 'sent' && f.ref === 'm3');

    // Bob receives all three, in order, each once.
    await bob.until(() => (bob.ofType('message').length >= 3 ? true : undefined));
    expect(bob.ofType('message').map((m) => [m.seq, m.body, m.from])).toEqual([[1, 'hello', 'alice'], [2, 'second', 'alice'], [3, 'third', 'alice']]);

    // One cumulative delivery ack covers every earlier message: a single receipt up to 3.
    bob.send({ type: 'ack', chat, upTo: 3 });
    const delivered = await alice.next((f) => f.type === 'receipt' && f.kind === 'delivered');
    expect(delivered).toMatchObject({ chat, user: 'bob', upTo: 3 });
    await settle(100);
    expect(alice.ofType('receipt').filter((r) => r.kind === 'delivered')).toHaveLength(1);

    // A read receipt turns them blue.
    bob.send({ type: 'read', chat, upTo: 2 });
    expect(await alice.next((f) => f.type === 'receipt' && f.kind === 'read')).toMatchObject({ user: 'bob', upTo: 2 });

    // A typing frame carrying a read receipt counts as the receipt, and shows typing.
    bob.send({ type: 'typing', chat, read: 3 });
    expect(await alice.next((f) => f.type === 'receipt' && f.kind === 'read' && f.upTo === 3)).toMatchObject({ user: 'bob' });
    expect(await alice.next((f) => f.type === 'typing')).toMatchObject({ chat, user: 'bob' });
    const cursors = await store.getCursors(chat);
    expect(cursors.get('bob')).toEqual({ delivered: 3, read: 3 });
  });

  it('answers a retried clientMsgId with the same message and stores it once', async () => {
    h = await startHarness();
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    alice.send({ type: 'send', chat, clientMsgId: 'same', body: 'x' });
    alice.send({ type: 'send', chat, clientMsgId: 'same', body: 'x' });
    await alice.until(() => (alice.ofType('sent').length === 2 ? true : undefined));
    const [a, b] = alice.ofType('sent');
    expect(a).toEqual(b);
    expect(await h.cluster.backends.store.headSeq(chat)).toBe(1);
    // The same id with another body is refused rather than silently answered.
    alice.send({ type: 'send', chat, clientMsgId: 'same', body: 'different' });
    expect(await alice.next((f) => f.type === 'error')).toMatchObject({ code: 'CLIENT_MSG_ID_REUSED', ref: 'same' });
  });
});
