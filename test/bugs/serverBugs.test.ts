// Each server bug, switched off and on in the same scenario over real WebSockets (fake time):
// the correct cluster behaves, the bugged one shows the defect at the protocol level.
import { afterEach, describe, expect, it } from 'vitest';
import type { BugName } from '../../server/bugs/BugCatalogue.ts';
import { snowflakeSkewMs } from '../../server/bugs/snowflakeSkew.ts';
import { ACK_BEFORE_PERSIST_FLUSH_DELAY_MS } from '../../server/bugs/ackBeforePersist.ts';
import type { ServerLimits } from '../../server/protocol/limits.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle, type Frame, type TestClient } from '../support/TestClient.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function cluster(bug: BugName | undefined, limits: Partial<ServerLimits> = {}, chatServers = 2): Promise<Harness> {
  h = await startHarness({ bugs: new Set(bug ? [bug] : []), limits, chatServers });
  return h;
}

async function send(client: TestClient, chat: string, clientMsgId: string, body = `body of ${clientMsgId}`): Promise<Frame> {
  const already = client.ofType('sent').length;
  client.send({ type: 'send', chat, clientMsgId, body });
  return client.until(() => client.ofType('sent').slice(already).find((f) => f.ref === clientMsgId));
}

async function syncFrom(client: TestClient, chat: string, afterSeq: number): Promise<Array<Record<string, unknown>>> {
  const id = `sync-${client.frames.length}`;
  client.send({ type: 'sync', id, chats: { [chat]: afterSeq } });
  const result = await client.next((f) => f.type === 'sync_result' && f.ref === id);
  const chats = result.chats as Array<{ chat: string; messages: Array<Record<string, unknown>> }>;
  return chats.find((c) => c.chat === chat)?.messages ?? [];
}

/** Alice and bob in a direct chat, on different gateways. */
async function directChat(harness: Harness): Promise<{ chat: string; alice: TestClient; bob: TestClient }> {
  const chat = await harness.createChat('alice', 'direct', ['bob']);
  const alice = await harness.connect('alice', { gateway: 0 });
  const bob = await harness.connect('bob', { gateway: 1 });
  return { chat, alice, bob };
}

function presenceFrames(client: TestClient, user: string, online: boolean): Frame[] {
  return client.ofType('presence').filter((f) => f.user === user && f.online === online);
}

describe('bug ack-before-persist', () => {
  async function scenario(bug: BugName | undefined): Promise<{ headAtAck: number; headAfter: number; bobGot: number }> {
    const harness = await cluster(bug);
    const { chat, alice, bob } = await directChat(harness);
    const sent = await send(alice, chat, 'm1');
    expect(sent).toMatchObject({ seq: 1 });
    const headAtAck = await harness.cluster.backends.store.headSeq(chat);
    await harness.cluster.restartChatServers({ crash: true });
    harness.time.advance(ACK_BEFORE_PERSIST_FLUSH_DELAY_MS * 5);
    await settle(100);
    return { headAtAck, headAfter: await harness.cluster.backends.store.headSeq(chat), bobGot: bob.ofType('message').length };
  }

  it('correct cluster: the ACK comes after the write, which survives a chat server crash', async () => {
    expect(await scenario(undefined)).toEqual({ headAtAck: 1, headAfter: 1, bobGot: 1 });
  });

  it('bugged cluster: the ACK (and the push) come before the write, and the crash loses the acknowledged message', async () => {
    // Bob saw it pushed, but no store holds it: a device that syncs later never gets it.
    expect(await scenario('ack-before-persist')).toEqual({ headAtAck: 0, headAfter: 0, bobGot: 1 });
  });

  it('bugged cluster without a restart: the write lands after the flush delay and is delivered then', async () => {
    // One chat server: two servers buffering for one chat may promise the same seq twice.
    const harness = await cluster('ack-before-persist', {}, 1);
    const { chat, alice, bob } = await directChat(harness);
    await send(alice, chat, 'm1');
    await send(alice, chat, 'm2');
    expect(alice.ofType('sent').map((f) => f.seq)).toEqual([1, 2]);
    harness.time.advance(ACK_BEFORE_PERSIST_FLUSH_DELAY_MS);
    await bob.until(() => (bob.ofType('message').length === 2 ? true : undefined));
    expect(bob.ofType('message').map((f) => f.seq)).toEqual([1, 2]);
  });
});

describe('bug no-dedupe', () => {
  async function retriedSeqs(bug: BugName | undefined): Promise<{ seqs: unknown[]; head: number }> {
    const harness = await cluster(bug);
    const { chat, alice } = await directChat(harness);
    const first = await send(alice, chat, 'retry-me', 'hello');
    const again = await send(alice, chat, 'retry-me', 'hello');
    return { seqs: [first.seq, again.seq], head: await harness.cluster.backends.store.headSeq(chat) };
  }

  it('correct cluster: a retried clientMsgId gets the original seq', async () => {
    expect(await retriedSeqs(undefined)).toEqual({ seqs: [1, 1], head: 1 });
  });

  it('bugged cluster: a retried clientMsgId is stored again under a new seq', async () => {
    expect(await retriedSeqs('no-dedupe')).toEqual({ seqs: [1, 2], head: 2 });
  });
});

describe('bug snowflake-ids', () => {
  /**
   * m1 is handled by the chat server whose clock runs ahead, m2 (later, at the same true
   * time) by the one whose clock runs behind; bob then syncs from watermark 1.
   */
  async function scenario(bug: BugName | undefined): Promise<{ synced: unknown[]; idsInSeqOrder: boolean }> {
    const harness = await cluster(bug);
    const { chat, alice, bob } = await directChat(harness);
    const servers = [...harness.cluster.chatServers].sort((a, b) => snowflakeSkewMs(b.id) - snowflakeSkewMs(a.id));
    const [ahead, behind] = [servers[0]!, servers[servers.length - 1]!];
    expect(snowflakeSkewMs(ahead.id)).toBeGreaterThan(snowflakeSkewMs(behind.id));
    await behind.stop();
    const m1 = await send(alice, chat, 'm1');
    await ahead.stop();
    behind.start();
    const m2 = await send(alice, chat, 'm2');
    ahead.start();
    const synced = (await syncFrom(bob, chat, 1)).map((m) => m.seq);
    return { synced, idsInSeqOrder: String(m1.msgId) < String(m2.msgId) };
  }

  it('correct cluster: sync from watermark 1 returns seq 2', async () => {
    expect(await scenario(undefined)).toEqual({ synced: [2], idsInSeqOrder: true });
  });

  it('bugged cluster: seq 2 has an id "behind" seq 1, and sync by watermark misses it', async () => {
    expect(await scenario('snowflake-ids')).toEqual({ synced: [], idsInSeqOrder: false });
  });
});

describe('bug cursor-overshoot', () => {
  async function deliveredReceipt(bug: BugName | undefined): Promise<Frame> {
    const harness = await cluster(bug);
    const { chat, alice, bob } = await directChat(harness);
    await send(alice, chat, 'm1');
    await send(alice, chat, 'm2');
    bob.send({ type: 'ack', chat, upTo: 1 });
    return alice.next((f) => f.type === 'receipt' && f.kind === 'delivered');
  }

  it('correct cluster: an ack up to 1 shows delivered up to 1', async () => {
    expect(await deliveredReceipt(undefined)).toMatchObject({ user: 'bob', upTo: 1 });
  });

  it('bugged cluster: an ack up to 1 shows delivered up to the head (2)', async () => {
    expect(await deliveredReceipt('cursor-overshoot')).toMatchObject({ user: 'bob', upTo: 2 });
  });
});

describe('bug read-rewrites-message', () => {
  async function scenario(bug: BugName | undefined): Promise<{ readReceipts: number; bodyAfterRead: unknown }> {
    const harness = await cluster(bug);
    const { chat, alice, bob } = await directChat(harness);
    await send(alice, chat, 'm1', 'hello');
    bob.send({ type: 'read', chat, upTo: 1 });
    await alice.next((f) => f.type === 'receipt' && f.kind === 'delivered'); // read implies delivered, in both
    await settle(100);
    const [message] = await syncFrom(bob, chat, 0);
    return { readReceipts: alice.ofType('receipt').filter((f) => f.kind === 'read').length, bodyAfterRead: message?.body };
  }

  it('correct cluster: the read moves the cursor and the message stays as written', async () => {
    expect(await scenario(undefined)).toEqual({ readReceipts: 1, bodyAfterRead: 'hello' });
  });

  it('bugged cluster: the read rewrites the message row and no read tick ever shows', async () => {
    expect(await scenario('read-rewrites-message')).toEqual({ readReceipts: 0, bodyAfterRead: 'hello [read by bob]' });
  });
});

describe('bug no-presence-debounce', () => {
  const limits = { presenceDebounceMs: 30_000, heartbeatTimeoutMs: 3_600_000, presenceTtlMs: 3_600_000 };

  async function offlineSeenAfterShortFlap(bug: BugName | undefined): Promise<number> {
    const harness = await cluster(bug, limits);
    await harness.befriend('alice', 'bob');
    const alice = await harness.connect('alice', { gateway: 0 });
    const bob = await harness.connect('bob', { gateway: 1 });
    await alice.next((f) => f.type === 'presence' && f.user === 'bob' && f.online === true);
    bob.close();
    await bob.waitClosed();
    await settle(100);
    harness.time.advance(1_000); // a flap far shorter than the debounce window
    await harness.connect('bob', { gateway: 1 });
    await settle(100);
    return presenceFrames(alice, 'bob', false).length;
  }

  it('correct cluster: a one-second flap never shows offline', async () => {
    expect(await offlineSeenAfterShortFlap(undefined)).toBe(0);
  });

  it('bugged cluster: the friend sees offline at once', async () => {
    expect(await offlineSeenAfterShortFlap('no-presence-debounce')).toBe(1);
  });
});

describe('bug stale-presence-ttl', () => {
  const limits = { presenceDebounceMs: 1_000, heartbeatTimeoutMs: 3_600_000, presenceTtlMs: 9_000 };

  /** Bob and alice stay connected and ping every second; bob connected 5 s before alice. */
  async function scenario(bug: BugName | undefined): Promise<{ offlineSeen: number; queried: unknown }> {
    const harness = await cluster(bug, limits);
    await harness.befriend('alice', 'bob');
    const bob = await harness.connect('bob', { gateway: 1 });
    harness.time.advance(5_000);
    const alice = await harness.connect('alice', { gateway: 0 });
    for (let elapsedMs = 0; elapsedMs < 7_000; elapsedMs += 500) {
      alice.sendRaw('{"type":"ping"}');
      bob.sendRaw('{"type":"ping"}');
      await settle(5);
      harness.time.advance(500);
    }
    await settle(50);
    alice.send({ type: 'presence_query', id: 'q1', users: ['bob'] });
    const answer = await alice.next((f) => f.type === 'presence_result');
    expect(bob.closeCode).toBeUndefined();
    return { offlineSeen: presenceFrames(alice, 'bob', false).length, queried: (answer.users as Array<{ online: boolean }>)[0]?.online };
  }

  it('correct cluster: a pinging user stays online past the TTL', async () => {
    expect(await scenario(undefined)).toEqual({ offlineSeen: 0, queried: true });
  });

  it('bugged cluster: a connected, pinging user expires and is shown offline', async () => {
    expect(await scenario('stale-presence-ttl')).toEqual({ offlineSeen: 1, queried: false });
  });
});

describe('bug route-to-every-gateway', () => {
  async function scenario(bug: BugName | undefined): Promise<{ carol: number; alice: number }> {
    const harness = await cluster(bug);
    const { chat, alice, bob } = await directChat(harness);
    const carol = await harness.connect('carol', { gateway: 1 }); // not a member, on bob's gateway
    const dave = await harness.connect('dave', { gateway: 0 }); // not a member, on alice's gateway
    await send(alice, chat, 'm1');
    await bob.next((f) => f.type === 'message');
    await settle(100);
    expect(dave.ofType('message').length).toBe(carol.ofType('message').length);
    return { carol: carol.ofType('message').length, alice: alice.ofType('message').length };
  }

  it('correct cluster: only members receive the message', async () => {
    expect(await scenario(undefined)).toEqual({ carol: 0, alice: 0 });
  });

  it('bugged cluster: every connection on every gateway receives it (but the sending one)', async () => {
    expect(await scenario('route-to-every-gateway')).toEqual({ carol: 1, alice: 0 });
  });
});

describe('bug sync-off-by-one', () => {
  async function syncedFromOne(bug: BugName | undefined): Promise<unknown[]> {
    const harness = await cluster(bug);
    const { chat, alice, bob } = await directChat(harness);
    for (const id of ['m1', 'm2', 'm3']) await send(alice, chat, id);
    return (await syncFrom(bob, chat, 1)).map((m) => m.seq);
  }

  it('correct cluster: sync from watermark 1 returns 2 and 3', async () => {
    expect(await syncedFromOne(undefined)).toEqual([2, 3]);
  });

  it('bugged cluster: sync from watermark 1 misses seq 2', async () => {
    expect(await syncedFromOne('sync-off-by-one')).toEqual([3]);
  });
});
