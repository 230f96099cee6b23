// Two phones over real WebSockets (WsClientTransport) against the in-process cluster on
// loopback: a message goes out, arrives, is acked and read, and the sender sees the read tick.
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { Phone } from '../../simulator/phone/Phone.ts';
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';
import { RecordingMetrics } from './fixtures.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';

describe('live phones on the in-process cluster', () => {
  let h: Harness | undefined;
  const phones: Phone[] = [];
  afterEach(async () => {
    for (const phone of phones.splice(0)) phone.stop();
    await h?.stop();
  });

  it('exchange a message and reach the read tick', async () => {
    h = await startHarness();
    const harness = h;
    const chatId = await harness.createChat('alice', 'direct', ['bob']);
    const events: HistoryEvent[] = [];
    const metrics = new RecordingMetrics();
    const transport = new WsClientTransport();
    const startMs = harness.time.nowMs();
    const makeLivePhone = async (user: string, seed: number): Promise<Phone> => new Phone({
      user, device: 'd1', token: await harness.login(user), gatewayUrls: harness.gatewayUrls,
      chats: [{ id: chatId, kind: 'direct', members: ['alice', 'bob'] }], friends: [],
      driver: new ChatsimV1Driver(transport), time: harness.time, random: new SeededRandom(seed), history: { record: (e) => events.push(e) }, metrics, startMs,
    });
    const alice = await makeLivePhone('alice', 1);
    const bob = await makeLivePhone('bob', 2);
    phones.push(alice, bob);

    /** Real sockets move on their own; phone timers move with the fake clock. */
    const until = async (probe: () => boolean, what: string): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        if (probe()) return;
        harness.time.advance(50);
        await settle(10);
      }
      throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.slice(-8))}`);
    };

    alice.start();
    bob.start();
    await until(() => alice.state().phase === 'ready' && bob.state().phase === 'ready', 'both phones ready');
    bob.setForeground(true);
    bob.openChat(chatId);

    const id = alice.send(chatId, 'hello bob');
    const tickOf = (tick: string) => events.some((e) => e.type === 'tick' && e.clientMsgId === id && e.tick === tick);
    await until(() => tickOf('read'), 'the read tick');

    const aliceTicks = events.filter((e) => e.type === 'tick' && e.p === 'alice/d1').map((e) => (e as { tick: string }).tick);
    expect(aliceTicks).toEqual(['sent', 'delivered', 'read']);
    expect(events.filter((e) => e.type === 'render' && e.p === 'bob/d1')).toMatchObject([{ chat: chatId, seq: 1, from: 'alice', clientMsgId: id, via: 'push' }]);
    expect(events.filter((e) => e.type === 'connect')).toHaveLength(2);
    expect(events.some((e) => e.type === 'receipt-out' && e.p === 'bob/d1' && e.kind === 'read' && e.upTo === 1)).toBe(true);
    expect(metrics.values('sendToRead')).toHaveLength(1);
  });
});
