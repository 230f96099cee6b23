import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';

/**
 * Issue 14, swarm seed 4603276: u3's message was delivered to both other members of the group,
 * and u3's connected devices were told so; then both others left. u3/d3, away when the receipt
 * was pushed, reconnected and synced, and the sync reported no tick (the aggregate over the
 * members but the sender is empty when the sender is alone), so it showed the message as sent
 * to the end. A sync reports the tick never below what the sender was told (docs/protocol.md
 * section 5), in watermark and token mode.
 */
describe('a sender left alone in a group (real WebSockets)', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('gets the ticks it was told on a device that syncs afterwards', async () => {
    h = await startHarness();
    const chat = await h.createChat('alice', 'group', ['bob', 'carol']);
    const alice = await h.connect('alice', { device: 'd1' });
    const bob = await h.connect('bob');
    const carol = await h.connect('carol');
    alice.send({ type: 'send', chat, clientMsgId: 'm1', body: 'hello' });
    await alice.next((f) => f.type === 'sent' && f.ref === 'm1');
    bob.send({ type: 'read', chat, upTo: 1 });
    carol.send({ type: 'ack', chat, upTo: 1 });
    await alice.next((f) => f.type === 'receipt' && f.kind === 'delivered' && f.upTo === 1);
    for (const user of ['bob', 'carol']) {
      const left = await h.api('DELETE', `/v1/chats/${encodeURIComponent(chat)}/members/${user}`, undefined, await h.login(user));
      expect(left.status).toBe(204);
    }

    const second = await h.connect('alice', { device: 'd2' });
    second.send({ type: 'sync', id: 's1', chats: { [chat]: 0 } });
    const result = await second.next((f) => f.type === 'sync_result' && f.ref === 's1');
    const synced = (result as unknown as { chats: Array<{ chat: string; receipts: unknown[] }> }).chats.find((c) => c.chat === chat)!;
    expect(synced.receipts).toEqual([{ type: 'receipt', chat, user: '*', kind: 'delivered', upTo: 1 }]);

    const third = await h.connect('alice', { device: 'd3' });
    third.send({ type: 'sync', id: 't1', mode: 'token', token: '' });
    const page = await third.next((f) => f.type === 'sync_result' && f.ref === 't1');
    const receipts = (page as unknown as { events: Array<{ event: { kind: string } }> }).events.filter((e) => e.event.kind === 'receipt');
    expect(receipts.map((e) => e.event)).toEqual([{ kind: 'receipt', chatId: chat, userId: '*', cursor: 'delivered', upTo: 1 }]);
  });
});
