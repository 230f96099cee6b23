import { afterEach, describe, expect, it } from 'vitest';
import { CountingBroker } from '../../server/memory/CountingBroker.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle, type TestClient } from '../support/TestClient.ts';

describe('a group of 5 over 2 gateways', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('publishes once per gateway per message and aggregates group ticks over all members', async () => {
    const broker = new CountingBroker(new MemoryBroker());
    h = await startHarness({ backends: { broker } });
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const chat = await h.createChat('u1', 'group', users.slice(1), 'five');
    const clients = new Map<string, TestClient>();
    for (const [i, user] of users.entries()) clients.set(user, await h.connect(user, { gateway: i % 2 }));
    const sender = clients.get('u1')!;
    await settle(50);

    broker.reset();
    sender.send({ type: 'send', chat, clientMsgId: 'g1', body: 'to all' });
    for (const user of users.slice(1)) await clients.get(user)!.next((f) => f.type === 'message' && f.clientMsgId === 'g1');
    await settle(50);
    const messagePublishes = [...broker.publishesByChannel].filter(([channel]) => channel.startsWith('gw:'));
    // Two gateways hold recipients; u1's own `sent` reply is one more publish to gw1.
    expect(broker.publishesByChannel.get('gw:gw1')).toBe(2);
    expect(broker.publishesByChannel.get('gw:gw2')).toBe(1);
    expect(messagePublishes).toHaveLength(2);
    expect(sender.ofType('message')).toHaveLength(0);

    // Delivered only when every other member has delivered; read likewise.
    for (const user of ['u2', 'u3', 'u4']) clients.get(user)!.send({ type: 'ack', chat, upTo: 1 });
    await settle(150);
    expect(sender.ofType('receipt')).toHaveLength(0);
    clients.get('u5')!.send({ type: 'ack', chat, upTo: 1 });
    expect(await sender.next((f) => f.type === 'receipt')).toMatchObject({ chat, user: '*', kind: 'delivered', upTo: 1 });

    for (const user of ['u2', 'u3', 'u5']) clients.get(user)!.send({ type: 'read', chat, upTo: 1 });
    await settle(150);
    expect(sender.ofType('receipt').filter((r) => r.kind === 'read')).toHaveLength(0);
    clients.get('u4')!.send({ type: 'typing', chat, read: 1 });
    expect(await sender.next((f) => f.type === 'receipt' && f.kind === 'read')).toMatchObject({ user: '*', upTo: 1 });
    // Other members sent nothing, so they get no tick receipts.
    for (const user of users.slice(1)) expect(clients.get(user)!.ofType('receipt')).toHaveLength(0);
  });
});
