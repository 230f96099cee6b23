import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';

describe('reconnect and sync', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('returns exactly the missed messages by watermark, and messages and receipts by token', async () => {
    h = await startHarness();
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    let bob = await h.connect('bob', { gateway: 1 });

    alice.send({ type: 'send', chat, clientMsgId: 'before', body: 'seen live' });
    await bob.next((f) => f.type === 'message');
    bob.send({ type: 'ack', chat, upTo: 1 });
    // Bob takes a sync token now, while he is up to date.
    bob.send({ type: 'sync', id: 's0', token: Buffer.from(`${h.cluster.backends.store.epoch}|0`).toString('base64url') });
    const first = await bob.next((f) => f.type === 'sync_result' && f.ref === 's0');
    const token = first.token as string;
    expect((first.events as unknown[]).length).toBeGreaterThan(0);

    bob.close();
    await bob.waitClosed();
    for (let i = 1; i <= 20; i++) alice.send({ type: 'send', chat, clientMsgId: `c${i}`, body: `missed ${i}` });
    await alice.until(() => (alice.ofType('sent').length === 21 ? true : undefined));
    // Bob's other device reads some of them meanwhile, producing receipts for Alice.
    const bobPhone2 = await h.connect('bob', { device: 'd2' });
    bobPhone2.send({ type: 'read', chat, upTo: 5 });
    await alice.next((f) => f.type === 'receipt' && f.kind === 'read');
    bobPhone2.close();

    bob = await h.connect('bob', { gateway: 0 });
    bob.send({ type: 'sync', id: 'w1', chats: { [chat]: 1 }, epoch: h.cluster.backends.store.epoch });
    const byWatermark = await bob.next((f) => f.type === 'sync_result' && f.ref === 'w1');
    const chatResult = (byWatermark.chats as any[]).find((c) => c.chat === chat);
    expect(chatResult.messages.map((m: any) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(chatResult.messages.map((m: any) => m.body)).toEqual(Array.from({ length: 20 }, (_, i) => `missed ${i + 1}`));
    expect(chatResult).toMatchObject({ head: 21, hasMore: false });
    expect(byWatermark.hasMore).toBe(false);

    // Alice's own sync carries the current ticks of her messages (to converge after a reconnect).
    alice.send({ type: 'sync', id: 'a1', chats: { [chat]: 21 } });
    const aliceSync = await alice.next((f) => f.type === 'sync_result' && f.ref === 'a1');
    expect((aliceSync.chats as any[])[0].receipts).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'delivered', upTo: 5, user: 'bob' }), expect.objectContaining({ kind: 'read', upTo: 5 }),
    ]));

    // By token: Bob gets the 20 messages since his token; Alice gets the receipts too.
    bob.send({ type: 'sync', id: 't1', token });
    const byToken = await bob.next((f) => f.type === 'sync_result' && f.ref === 't1');
    const messageEvents = (byToken.events as any[]).filter((e) => e.event.kind === 'message');
    expect(messageEvents.map((e) => e.event.message.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    alice.send({ type: 'sync', id: 'ta', token: Buffer.from(`${h.cluster.backends.store.epoch}|0`).toString('base64url') });
    const aliceEvents = (await alice.next((f) => f.type === 'sync_result' && f.ref === 'ta')).events as any[];
    // The inbox is filled when read: a receipt event carries the tick as it stands then (ticks
    // are cumulative; Bob's delivery ack of 1 was overtaken by the read up to 5).
    expect(aliceEvents.filter((e) => e.event.kind === 'receipt').map((e) => [e.event.cursor, e.event.upTo])).toEqual([['delivered', 5], ['read', 5]]);
    // Chaining: syncing again from the returned token yields nothing new.
    bob.send({ type: 'sync', id: 't2', token: byToken.token });
    expect((await bob.next((f) => f.type === 'sync_result' && f.ref === 't2')).events).toEqual([]);
  });

  it('pages a large backlog with hasMore and refuses a position from another epoch', async () => {
    h = await startHarness({ limits: { syncMessagesMax: 7 } });
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    for (let i = 1; i <= 10; i++) alice.send({ type: 'send', chat, clientMsgId: `p${i}`, body: `${i}` });
    await alice.until(() => (alice.ofType('sent').length === 10 ? true : undefined));
    const bob = await h.connect('bob');
    bob.send({ type: 'sync', id: 'p1', chats: {} });
    const page1 = await bob.next((f) => f.type === 'sync_result' && f.ref === 'p1');
    expect(page1.hasMore).toBe(true);
    expect((page1.chats as any[])[0].messages).toHaveLength(7);
    bob.send({ type: 'sync', id: 'p2', chats: { [chat]: 7 } });
    const page2 = await bob.next((f) => f.type === 'sync_result' && f.ref === 'p2');
    expect(page2.hasMore).toBe(false);
    expect((page2.chats as any[])[0].messages.map((m: any) => m.seq)).toEqual([8, 9, 10]);
    bob.send({ type: 'sync', id: 'old', chats: { [chat]: 3 }, epoch: 'some-old-epoch' });
    expect(await bob.next((f) => f.type === 'error')).toMatchObject({ code: 'SYNC_RESET', ref: 'old' });
    await settle(10);
  });

  it('announces its limits in hello and answers a listedOnly sync for the listed chats only (issue 14, R1)', async () => {
    h = await startHarness({ limits: { syncChatsMax: 1 } });
    const first = await h.createChat('alice', 'direct', ['bob']);
    const second = await h.createChat('alice', 'direct', ['carol']);
    const alice = await h.connect('alice');
    const hello = await alice.next((f) => f.type === 'hello');
    expect(hello.limits).toMatchObject({ syncChatsMax: 1, frameBytesMax: 65_536, syncMessagesMax: 500, presenceQueryUsersMax: 500 });
    alice.send({ type: 'send', chat: second, clientMsgId: 'x', body: 'to carol' });
    await alice.next((f) => f.type === 'sent');
    alice.send({ type: 'sync', id: 'p1', chats: { [first]: 0 }, listedOnly: true });
    const page = await alice.next((f) => f.type === 'sync_result' && f.ref === 'p1');
    expect((page.chats as Array<{ chat: string }>).map((c) => c.chat)).toEqual([first]);
    // Without listedOnly an unlisted chat starts from 0, as before.
    alice.send({ type: 'sync', id: 'p2', chats: { [first]: 0 } });
    const whole = await alice.next((f) => f.type === 'sync_result' && f.ref === 'p2');
    expect((whole.chats as Array<{ chat: string }>).map((c) => c.chat).sort()).toEqual([first, second].sort());
    alice.send({ type: 'sync', id: 'p3', chats: { [first]: 0, [second]: 0 } });
    expect(await alice.next((f) => f.type === 'error' && f.ref === 'p3')).toMatchObject({ code: 'INVALID_FIELD' });
    alice.send({ type: 'sync', id: 'p4', chats: { [first]: 0 }, listedOnly: 'yes' });
    expect(await alice.next((f) => f.type === 'error' && f.ref === 'p4')).toMatchObject({ code: 'INVALID_FIELD' });
  });
});

