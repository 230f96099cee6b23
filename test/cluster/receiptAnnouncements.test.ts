// Issue 15, finding 8 (receipts): the live chat servers follow the documented receipt rule
// (docs/protocol.md section 5: a sender gets a receipt only when their tick rose past what they
// were told and their latest message is above it), and two chat servers on one store never
// repeat a tick: what was announced is remembered in the store, where every chat server sees it.
// test/contracts/cassandra.test.ts runs the cross-server case on two Cassandra stores.
import { describe, expect, it } from 'vitest';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { startChatServerRig, twoServersRepeatNoTick } from '../support/chatServerRig.ts';

describe('receipt announcements', () => {
  it('a sender whose latest message is at or below the old tick gets no receipt when it rises', async () => {
    const rig = await startChatServerRig([new MemoryMessageStore()], ['alice', 'bob']);
    const chat = 'd:alice:bob';
    await rig.directory.createChat({ id: chat, kind: 'direct', name: '', memberIds: ['alice', 'bob'], createdAtMs: 0 });
    await rig.handle(0, 'alice', { type: 'send', chat, clientMsgId: 'a1', body: 'hi' });
    await rig.handle(0, 'bob', { type: 'ack', chat, upTo: 1 });
    expect(rig.takeReceipts()).toEqual([{ type: 'receipt', chat, user: 'bob', kind: 'delivered', upTo: 1, to: 'alice' }]);
    // Bob answers (seq 2) and his phone acks the chat up to his own message: alice's tick rises
    // from 1 to 2, but her latest message (1) is not above 1: she has nothing new to tick.
    await rig.handle(0, 'bob', { type: 'send', chat, clientMsgId: 'b1', body: 'hello' });
    await rig.handle(0, 'bob', { type: 'ack', chat, upTo: 2 });
    expect(rig.takeReceipts()).toEqual([]);
    // Alice writes again (seq 3); bob's ack of it ticks it.
    await rig.handle(0, 'alice', { type: 'send', chat, clientMsgId: 'a2', body: 'again' });
    await rig.handle(0, 'bob', { type: 'read', chat, upTo: 3 });
    expect(rig.takeReceipts()).toEqual([
      { type: 'receipt', chat, user: 'bob', kind: 'delivered', upTo: 3, to: 'alice' },
      { type: 'receipt', chat, user: 'bob', kind: 'read', upTo: 3, to: 'alice' },
    ]);
  });

  it('two chat servers on one store never repeat a tick', async () => {
    const store = new MemoryMessageStore();
    await twoServersRepeatNoTick([store, store], 'g:shared');
  });

  it('a redelivered frame (a crash may have cut its receipts short) tells the current ticks again', async () => {
    const rig = await startChatServerRig([new MemoryMessageStore()], ['alice', 'bob']);
    const chat = 'd:alice:bob';
    await rig.directory.createChat({ id: chat, kind: 'direct', name: '', memberIds: ['alice', 'bob'], createdAtMs: 0 });
    await rig.handle(0, 'alice', { type: 'send', chat, clientMsgId: 'a1', body: 'hi' });
    await rig.handle(0, 'bob', { type: 'ack', chat, upTo: 1 });
    rig.takeReceipts();
    await rig.handle(0, 'bob', { type: 'ack', chat, upTo: 1 }, 1);
    expect(rig.takeReceipts()).toEqual([{ type: 'receipt', chat, user: 'bob', kind: 'delivered', upTo: 1, to: 'alice' }]);
  });
});
