import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';

describe('gateway faults the scenarios inject', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('a paused gateway answers nothing, then processes what waited, in order, on resume', async () => {
    h = await startHarness({ faultEquipment: ['pause-gateway'] });
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice', { gateway: 0 });
    const bob = await h.connect('bob', { gateway: 1 });
    await alice.next((f) => f.type === 'hello');

    h.cluster.pauseGateway(0);
    alice.send({ type: 'ping' });
    alice.send({ type: 'send', chat, clientMsgId: 'p1', body: 'one' });
    alice.send({ type: 'send', chat, clientMsgId: 'p2', body: 'two' });
    await settle(150);
    expect(alice.ofType('pong')).toHaveLength(0);
    expect(alice.ofType('sent')).toHaveLength(0);
    expect(bob.ofType('message')).toHaveLength(0);

    h.cluster.resumeGateway(0);
    await alice.next((f) => f.type === 'sent' && f.ref === 'p2');
    expect(alice.ofType('pong')).toHaveLength(1);
    expect(alice.ofType('sent').map((f) => f.ref)).toEqual(['p1', 'p2']);
    await bob.until(() => (bob.ofType('message').length === 2 ? true : undefined));
    expect(bob.ofType('message').map((m) => m.body)).toEqual(['one', 'two']);
  });

  it('a partitioned gateway keeps its sockets, refuses frames as UNAVAILABLE, loses pub/sub deliveries, and recovers on heal', async () => {
    h = await startHarness();
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice', { gateway: 0 });
    const bob = await h.connect('bob', { gateway: 1 });

    await h.cluster.partitionGateway(0);
    alice.send({ type: 'send', chat, clientMsgId: 'x1', body: 'lost?' });
    const refused = await alice.next((f) => f.type === 'error');
    expect(refused).toMatchObject({ code: 'UNAVAILABLE', ref: 'x1' });
    // Bob's message is stored and acked, but the broker cannot reach alice's gateway.
    bob.send({ type: 'send', chat, clientMsgId: 'b1', body: 'hi alice' });
    await bob.next((f) => f.type === 'sent' && f.ref === 'b1');
    await settle(100);
    expect(alice.ofType('message')).toHaveLength(0);
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);

    await h.cluster.healGatewayPartition(0);
    // Pub/Sub kept nothing: the gateway tells its clients to sync (receipts lost meanwhile show no gap).
    expect(await alice.next((f) => f.type === 'resync')).toMatchObject({ type: 'resync', reason: 'broker-link-restored' });
    expect(bob.ofType('resync')).toHaveLength(0);
    alice.send({ type: 'send', chat, clientMsgId: 'x1', body: 'lost?' });
    await alice.next((f) => f.type === 'sent' && f.ref === 'x1');
    bob.send({ type: 'send', chat, clientMsgId: 'b2', body: 'again' });
    const pushed = await alice.next((f) => f.type === 'message' && f.clientMsgId === 'b2');
    // seq 1 (b1) was lost to pub/sub and only a sync brings it: the phone sees the gap at seq 3.
    expect(pushed.seq).toBe(3);
    alice.send({ type: 'sync', id: 's1', chats: { [chat]: 0 } });
    const synced = await alice.next((f) => f.type === 'sync_result');
    expect((synced as any).chats[0].messages.map((m: { clientMsgId: string }) => m.clientMsgId)).toEqual(['b1', 'x1', 'b2']);
  });
});
