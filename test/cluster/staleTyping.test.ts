// A typing frame that waited in the inbound queue longer than typingNoticeAgeMaxMs is not
// announced (an overloaded cluster would otherwise show someone typing who stopped long ago);
// its piggybacked read still applies, and a fresh typing frame is announced as before.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';

describe('stale typing frames', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('drops a typing notice older than typingNoticeAgeMaxMs, keeps its read, announces a fresh one', async () => {
    h = await startHarness({ limits: { typingNoticeAgeMaxMs: 3_000 }, faultEquipment: ['pause-chat-server'] });
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice', { gateway: 0 });
    const bob = await h.connect('bob', { gateway: 1 });
    alice.send({ type: 'send', chat, clientMsgId: 'm1', body: 'hello' });
    await alice.next((f) => f.type === 'sent' && f.ref === 'm1');
    await bob.next((f) => f.type === 'message' && f.seq === 1);

    // Both chat servers frozen: the typing frame waits in the queue while 4 s pass.
    h.cluster.pauseChatServer(0);
    h.cluster.pauseChatServer(1);
    bob.send({ type: 'typing', chat, read: 1 });
    await settle(100);
    h.time.advance(4_000);
    h.cluster.resumeChatServer(0);
    h.cluster.resumeChatServer(1);

    expect(await alice.next((f) => f.type === 'receipt' && f.kind === 'read')).toMatchObject({ chat, user: 'bob', upTo: 1 });
    await settle(300);
    expect(alice.ofType('typing')).toHaveLength(0);

    // Not stale: announced.
    bob.send({ type: 'typing', chat });
    expect(await alice.next((f) => f.type === 'typing')).toMatchObject({ chat, user: 'bob' });
  });
});
