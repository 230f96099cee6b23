// Issue 15, finding 8 (doc contradictions): statements of docs/protocol.md that contradicted
// the server, rewritten to what the server does; these pin the server to the corrected text.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';

describe('docs/protocol.md as corrected', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('a same-body retry of a send gets the identical sent and pushes nothing (sections 3 and 5)', async () => {
    h = await startHarness();
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    const bob = await h.connect('bob', { gateway: 1 });
    alice.send({ type: 'send', chat, clientMsgId: 'c1', body: 'once' });
    const first = await alice.next((f) => f.type === 'sent');
    await bob.next((f) => f.type === 'message');
    alice.send({ type: 'send', chat, clientMsgId: 'c1', body: 'once' });
    await alice.until(() => (alice.ofType('sent').length === 2 ? true : undefined));
    expect(alice.ofType('sent')[1]).toEqual(first);
    alice.send({ type: 'send', chat, clientMsgId: 'c1', body: 'another body' });
    expect(await alice.next((f) => f.type === 'error')).toMatchObject({ code: 'CLIENT_MSG_ID_REUSED', ref: 'c1' });
    // Bob's pushes of the chat come in order on one connection: a marker sent after the retry
    // arrives after any push the retry would have made.
    alice.send({ type: 'send', chat, clientMsgId: 'c2', body: 'marker' });
    await bob.until(() => (bob.ofType('message').some((m) => m.clientMsgId === 'c2') ? true : undefined));
    await settle(20);
    expect(bob.ofType('message').map((m) => m.clientMsgId)).toEqual(['c1', 'c2']);
  });

  it('each member of a new group gets one member_added, naming itself (section 6)', async () => {
    h = await startHarness();
    const group = await h.createChat('alice', 'group', ['bob', 'carol'], 'g');
    for (const user of ['alice', 'bob', 'carol']) {
      const events = (await h.cluster.backends.store.readInbox(user, 0, 100)).events.map((e) => e.event);
      expect(events).toEqual([{ kind: 'member_added', chatId: group, userId: user }]);
    }
  });

  it('errors carry ref by the rule of section 3', async () => {
    h = await startHarness();
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const carol = await h.connect('carol');
    // Validation errors take the frame's id, whatever the frame type.
    carol.send({ type: 'ack', chat, upTo: -1, id: 'x1' });
    expect(await carol.next((f) => f.type === 'error' && f.code === 'INVALID_FIELD')).toMatchObject({ ref: 'x1' });
    // NOT_MEMBER about an ack has none, even with an id.
    carol.send({ type: 'ack', chat, upTo: 1, id: 'x2' });
    const notMember = await carol.next((f) => f.type === 'error' && f.code === 'NOT_MEMBER');
    expect(notMember.ref).toBeUndefined();
    // A send's NOT_MEMBER carries its clientMsgId.
    carol.send({ type: 'send', chat, clientMsgId: 'm1', body: 'hi' });
    expect(await carol.next((f) => f.type === 'error' && f.ref === 'm1')).toMatchObject({ code: 'NOT_MEMBER' });
  });
});
