// The sync-token inbox is filled when it is read (server/chat/InboxMaterializer.ts): these
// tests pin what a token sync returns, over real sockets, and that nothing is written per message.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import type { TestClient } from '../support/TestClient.ts';

const fromStart = (h: Harness): string => Buffer.from(`${h.cluster.backends.store.epoch}|0`).toString('base64url');

async function tokenSync(client: TestClient, id: string, token: string): Promise<{ events: any[]; token: string; hasMore: boolean }> {
  client.send({ type: 'sync', id, token });
  const result = await client.next((f) => f.type === 'sync_result' && f.ref === id);
  return { events: result.events as any[], token: result.token as string, hasMore: result.hasMore as boolean };
}

/** Token-syncs from the start of the inbox, page after page while `hasMore` (at most 10 pages), and returns what came. */
async function syncToEnd(h: Harness, client: TestClient, idPrefix: string): Promise<string[]> {
  let token = fromStart(h);
  const seen: string[] = [];
  for (let round = 1; round <= 10; round++) {
    const page = await tokenSync(client, `${idPrefix}${round}`, token);
    seen.push(...kinds(page.events));
    token = page.token;
    if (!page.hasMore) return seen;
  }
  throw new Error(`still hasMore after 10 pages: ${seen.join(' ')}`);
}

const kinds = (events: any[]): string[] => events.map((e) => (e.event.kind === 'message' ? `m${e.event.message.seq}` : e.event.kind === 'receipt' ? `${e.event.cursor}${e.event.upTo}` : e.event.kind));

describe('the sync-token inbox, filled on read', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('writes no inbox event per message; a token sync copies messages and ticks once, and chains', async () => {
    h = await startHarness();
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    const bob = await h.connect('bob', { gateway: 1 });
    const before = (await h.cluster.backends.store.readInbox('bob', 0, 100)).headPosition;
    for (let i = 1; i <= 3; i++) alice.send({ type: 'send', chat, clientMsgId: `a${i}`, body: `hi ${i}` });
    await alice.until(() => (alice.ofType('sent').length === 3 ? true : undefined));
    await bob.until(() => (bob.ofType('message').length === 3 ? true : undefined));
    bob.send({ type: 'read', chat, upTo: 2 });
    await alice.next((f) => f.type === 'receipt' && f.kind === 'read' && f.upTo === 2);
    // Three messages and two ticks stored, pushed and told: nothing in either inbox yet.
    expect((await h.cluster.backends.store.readInbox('bob', 0, 100)).headPosition).toBe(before);

    const first = await tokenSync(bob, 't1', fromStart(h));
    expect(kinds(first.events)).toEqual(['member_added', 'm1', 'm2', 'm3']);
    expect(first.hasMore).toBe(false);
    const aliceFirst = await tokenSync(alice, 'ta', fromStart(h));
    expect(kinds(aliceFirst.events)).toEqual(['member_added', 'm1', 'm2', 'm3', 'delivered2', 'read2']);
    expect(aliceFirst.events.find((e) => e.event.kind === 'receipt').event).toMatchObject({ chatId: chat, userId: 'bob' });

    // Chaining: nothing new, nothing returned; then only what moved since.
    expect((await tokenSync(bob, 't2', first.token)).events).toEqual([]);
    alice.send({ type: 'send', chat, clientMsgId: 'a4', body: 'hi 4' });
    await bob.next((f) => f.type === 'message' && f.seq === 4);
    bob.send({ type: 'read', chat, upTo: 4 });
    await alice.next((f) => f.type === 'receipt' && f.kind === 'read' && f.upTo === 4);
    expect(kinds((await tokenSync(bob, 't3', first.token)).events)).toEqual(['m4']);
    expect(kinds((await tokenSync(alice, 'tb', aliceFirst.token)).events)).toEqual(['m4', 'delivered4', 'read4']);
    // A second device of the same user reads the same inbox: nothing is copied twice.
    const bob2 = await h.connect('bob', { device: 'd2' });
    expect(kinds((await tokenSync(bob2, 'u1', fromStart(h))).events)).toEqual(['member_added', 'm1', 'm2', 'm3', 'm4']);
  });

  it('copies at most one page of messages per sync and says hasMore until the backlog is in', async () => {
    h = await startHarness({ limits: { syncEventsMax: 4 } });
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    for (let i = 1; i <= 10; i++) alice.send({ type: 'send', chat, clientMsgId: `p${i}`, body: `${i}` });
    await alice.until(() => (alice.ofType('sent').length === 10 ? true : undefined));
    const bob = await h.connect('bob');
    expect(await syncToEnd(h, bob, 'r')).toEqual(['member_added', ...Array.from({ length: 10 }, (_, i) => `m${i + 1}`)]);
    // Alice's ticks, read up to 10 by Bob, come page by page, never above the messages copied before them.
    bob.send({ type: 'read', chat, upTo: 10 });
    await alice.next((f) => f.type === 'receipt' && f.kind === 'read' && f.upTo === 10);
    expect(await syncToEnd(h, alice, 'a')).toEqual(['member_added', 'm1', 'm2', 'm3', 'm4', 'delivered4', 'read4', 'm5', 'm6', 'm7', 'm8', 'delivered8', 'read8', 'm9', 'm10', 'delivered10', 'read10']);
  });

  it('gives receipt events only to members who sent something, and a removed member what they were owed', async () => {
    h = await startHarness();
    const group = await h.createChat('alice', 'group', ['bob', 'carol'], 'g');
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    const carol = await h.connect('carol');
    for (let i = 1; i <= 3; i++) alice.send({ type: 'send', chat: group, clientMsgId: `g${i}`, body: `${i}` });
    await alice.until(() => (alice.ofType('sent').length === 3 ? true : undefined));
    for (const reader of [bob, carol]) {
      await reader.until(() => (reader.ofType('message').length === 3 ? true : undefined));
      reader.send({ type: 'read', chat: group, upTo: 3 });
    }
    await alice.next((f) => f.type === 'receipt' && f.kind === 'read' && f.upTo === 3);
    // Bob never sent in the group: his aggregate tick is 0 anyway, and Alice read nothing, so
    // make it move: Alice reads too. He still gets no receipt events.
    alice.send({ type: 'read', chat: group, upTo: 3 });
    for (let i = 0; i < 100 && (await h.cluster.backends.store.getCursors(group)).get('alice')?.read !== 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await h.cluster.backends.store.getCursors(group)).get('alice')?.read).toBe(3);
    expect(kinds((await tokenSync(bob, 'b1', fromStart(h))).events)).toEqual(['member_added', 'm1', 'm2', 'm3']);
    expect(kinds((await tokenSync(alice, 'a1', fromStart(h))).events)).toEqual(['member_added', 'm1', 'm2', 'm3', 'delivered3', 'read3']);
    // Carol is removed before she ever syncs by token: the three messages are copied for her
    // first; the one sent after her removal is not hers.
    const removed = await h.api('DELETE', `/v1/chats/${group}/members/carol`, undefined, await h.login('alice'));
    expect(removed.status).toBe(204);
    alice.send({ type: 'send', chat: group, clientMsgId: 'g4', body: '4' });
    await alice.until(() => (alice.ofType('sent').length === 4 ? true : undefined));
    expect(kinds((await tokenSync(carol, 'c1', fromStart(h))).events)).toEqual(['member_added', 'm1', 'm2', 'm3', 'member_removed']);
  });

  it('gives a member added later only the messages from when they joined', async () => {
    h = await startHarness();
    const group = await h.createChat('alice', 'group', ['bob'], 'g');
    const alice = await h.connect('alice');
    for (let i = 1; i <= 3; i++) alice.send({ type: 'send', chat: group, clientMsgId: `g${i}`, body: `${i}` });
    await alice.until(() => (alice.ofType('sent').length === 3 ? true : undefined));
    await h.befriend('alice', 'carol');
    const added = await h.api('POST', `/v1/chats/${group}/members`, { user: 'carol' }, await h.login('alice'));
    expect(added.status).toBe(200);
    alice.send({ type: 'send', chat: group, clientMsgId: 'g4', body: '4' });
    await alice.until(() => (alice.ofType('sent').length === 4 ? true : undefined));
    const carol = await h.connect('carol');
    expect(kinds((await tokenSync(carol, 'c1', fromStart(h))).events)).toEqual(['member_added', 'm4']);
  });
});
