import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';

/**
 * Issue 14, swarm seed 33: a phone's send is stored, the phone is removed from the group before
 * its `sent` arrives, and its retry (same clientMsgId) must still be answered with the stored
 * `sent`, not NOT_MEMBER, or the phone never learns that the message others received is stored.
 */
describe('a retried send from a sender removed from the chat since (real WebSockets)', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('is answered with the stored sent; a fresh send or another body from the non-member is refused NOT_MEMBER', async () => {
    h = await startHarness();
    const chat = await h.createChat('alice', 'group', ['bob', 'carol']);
    const alice = await h.connect('alice', { gateway: 0 });
    const carol = await h.connect('carol', { gateway: 1 });
    alice.send({ type: 'send', chat, clientMsgId: 'm1', body: 'hello' });
    const first = await alice.next((f) => f.type === 'sent' && f.ref === 'm1');
    await carol.next((f) => f.type === 'message' && f.seq === 1);

    // Bob kicks alice (as if before her `sent` reached her: she never saw it and retries).
    const removed = await h.api('DELETE', `/v1/chats/${encodeURIComponent(chat)}/members/alice`, undefined, await h.login('bob'));
    expect(removed.status).toBe(204);

    alice.send({ type: 'send', chat, clientMsgId: 'm1', body: 'hello' });
    const retried = await alice.next((f) => (f.type === 'sent' || f.type === 'error') && f.ref === 'm1' && f !== first);
    expect(retried).toEqual(first);

    // Anything that is not a retry of a stored send is refused, and nothing is stored.
    alice.send({ type: 'send', chat, clientMsgId: 'm2', body: 'fresh' });
    expect(await alice.next((f) => f.type === 'error' && f.ref === 'm2')).toMatchObject({ code: 'NOT_MEMBER' });
    alice.send({ type: 'send', chat, clientMsgId: 'm1', body: 'another body' });
    expect(await alice.next((f) => f.type === 'error' && f.ref === 'm1')).toMatchObject({ code: 'NOT_MEMBER' });
    expect(await h.cluster.backends.store.headSeq(chat)).toBe(1);

    // The retry pushes nothing again to the members.
    await settle(150);
    expect(carol.ofType('message').map((m) => m.seq)).toEqual([1]);
  });
});
