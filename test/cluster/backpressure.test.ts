import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';
import { GatedMessageStore } from '../support/GatedMessageStore.ts';

describe('backpressure limits', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('disconnects a reader that stops reading with 4508 once its send buffer passes sendBufferBytesMax', async () => {
    h = await startHarness({ limits: { sendBufferBytesMax: 2 * 1024 * 1024, framesPerSecondMax: 10_000, framesBurstMax: 10_000, pendingFramesMax: 10_000 } });
    const chat = await h.createChat('writer', 'group', ['stuck', 'healthy'], 'busy');
    const writer = await h.connect('writer');
    const stuck = await h.connect('stuck');
    const healthy = await h.connect('healthy');
    // The stuck phone stops reading its socket: the kernel buffers fill, then the gateway's.
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const body = 'x'.repeat(15_000);
    const batch = 40; // ~600 KB in flight to the healthy reader at most, well under the limit
    const total = 1_000; // ~15 MB towards the stuck reader, far past kernel buffers and the limit
    for (let sent = 0; sent < total; sent += batch) {
      for (let i = sent; i < sent + batch; i++) writer.send({ type: 'send', chat, clientMsgId: `b${i}`, body });
      await healthy.until(() => (healthy.ofType('message').length >= sent + batch ? true : undefined), 20_000);
    }
    (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // The gateway closed it as a slow consumer; the close frame could not get through the full
    // buffer, so the phone itself sees an abnormal closure.
    expect([4508, 1006]).toContain(await stuck.waitClosed(10_000));
    const closes = new Map<number, number>();
    for (const gw of h.cluster.gateways) for (const [code, n] of gw.stats.closesByCode) closes.set(code, (closes.get(code) ?? 0) + n);
    expect(closes.get(4508)).toBe(1);
    expect(healthy.closeCode).toBeUndefined();
    expect(writer.closeCode).toBeUndefined();
  });

  it('refuses frames past pendingFramesMax with TOO_MANY_PENDING and keeps the ones it accepted', async () => {
    const store = new GatedMessageStore();
    h = await startHarness({ backends: { store }, limits: { pendingFramesMax: 5 } });
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    store.hold();
    for (let i = 0; i < 8; i++) alice.send({ type: 'send', chat, clientMsgId: `p${i}`, body: 'b' });
    const refused = await alice.until(() => {
      const errors = alice.ofType('error');
      return errors.length === 3 ? errors : undefined;
    });
    expect(refused.map((e) => [e.code, e.ref])).toEqual([['TOO_MANY_PENDING', 'p5'], ['TOO_MANY_PENDING', 'p6'], ['TOO_MANY_PENDING', 'p7']]);
    store.release();
    await alice.until(() => (alice.ofType('sent').length === 5 ? true : undefined));
    expect(alice.ofType('sent').map((f) => f.ref)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    // The client retries the refused ones later with the same ids; they go through.
    for (const id of ['p5', 'p6', 'p7']) alice.send({ type: 'send', chat, clientMsgId: id, body: 'b' });
    await alice.until(() => (alice.ofType('sent').length === 8 ? true : undefined));
    expect(await h.cluster.backends.store.headSeq(chat)).toBe(8);
    await settle(10);
  });
});
