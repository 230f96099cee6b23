// Issue 15, finding 4: a sync result never passes syncResultBytesMax (UTF-8 bytes of its JSON
// frame, as sent), by watermark or by token; the rest comes by hasMore, and a message too big
// for the limit on its own still goes out, alone. Measured on the frames bob's socket receives.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import type { Frame, TestClient } from '../support/TestClient.ts';

const LIMIT = 20_000;

/** Bob's connection, with the size in bytes of every sync_result it receives, by ref. */
async function bobWithSizes(h: Harness): Promise<{ bob: TestClient; sizes: Map<string, number> }> {
  const bob = await h.connect('bob', { gateway: 1 });
  const sizes = new Map<string, number>();
  bob.ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(String(data)) as Frame;
    if (frame.type === 'sync_result') sizes.set(String(frame.ref), data.length);
  });
  return { bob, sizes };
}

async function sendAll(client: TestClient, chat: string, bodies: string[], prefix: string): Promise<void> {
  bodies.forEach((body, i) => client.send({ type: 'send', chat, clientMsgId: `${prefix}${i}`, body }));
  for (let i = 0; i < bodies.length; i++) await client.next((f) => f.type === 'sent' && f.ref === `${prefix}${i}`);
}

describe('sync results are bounded in bytes', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('by watermark: pages of at most syncResultBytesMax bytes, chat by chat, until hasMore clears', async () => {
    h = await startHarness({ limits: { syncResultBytesMax: LIMIT } });
    const direct = await h.createChat('alice', 'direct', ['bob']);
    const group = await h.createChat('alice', 'group', ['bob', 'carol'], 'g');
    const alice = await h.connect('alice');
    const bodies = Array.from({ length: 6 }, (_, i) => `${i}:`.padEnd(6_000, 'é')); // 2 bytes a char: 12 KB each
    await sendAll(alice, direct, bodies, 'd');
    await sendAll(alice, group, bodies, 'g');
    const { bob, sizes } = await bobWithSizes(h);

    const watermarks: Record<string, number> = {};
    const got = new Map<string, number[]>([[direct, []], [group, []]]);
    let pages = 0;
    for (let more = true; more; pages++) {
      expect(pages, 'hasMore never cleared').toBeLessThan(30);
      bob.send({ type: 'sync', id: `w${pages}`, chats: { ...watermarks } });
      const page = await bob.next((f) => f.type === 'sync_result' && f.ref === `w${pages}`);
      expect(sizes.get(`w${pages}`)).toBeLessThanOrEqual(LIMIT);
      for (const c of page.chats as any[]) {
        got.get(c.chat)!.push(...c.messages.map((m: any) => m.seq));
        if (c.messages.length > 0) watermarks[c.chat] = c.messages.at(-1).seq;
        expect(c.hasMore).toBe(c.messages.length > 0 ? c.messages.at(-1).seq < c.head : (watermarks[c.chat] ?? 0) < c.head);
      }
      more = page.hasMore as boolean;
    }
    expect(got.get(direct)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(got.get(group)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(pages).toBeGreaterThanOrEqual(12 * 12_000 / LIMIT);
  });

  it('by token: pages of at most syncResultBytesMax bytes, chained by token, until hasMore clears', async () => {
    h = await startHarness({ limits: { syncResultBytesMax: LIMIT } });
    const direct = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    await sendAll(alice, direct, Array.from({ length: 8 }, (_, i) => `${i}:`.padEnd(6_000, 'é')), 't');
    const { bob, sizes } = await bobWithSizes(h);

    let token = '';
    const seqs: number[] = [];
    let pages = 0;
    for (let more = true; more; pages++) {
      expect(pages, 'hasMore never cleared').toBeLessThan(30);
      bob.send({ type: 'sync', id: `t${pages}`, token });
      const page = await bob.next((f) => f.type === 'sync_result' && f.ref === `t${pages}`);
      expect(sizes.get(`t${pages}`)).toBeLessThanOrEqual(LIMIT);
      seqs.push(...(page.events as any[]).filter((e) => e.event.kind === 'message').map((e) => e.event.message.seq));
      token = page.token as string;
      more = page.hasMore as boolean;
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(pages).toBeGreaterThanOrEqual(8 * 12_000 / LIMIT);
  });

  it('a message larger than the limit goes out alone, by watermark and by token', async () => {
    const small = 4_000;
    h = await startHarness({ limits: { syncResultBytesMax: small } });
    const direct = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    await sendAll(alice, direct, ['big'.padEnd(10_000, 'x'), 'small'], 'b');
    const { bob, sizes } = await bobWithSizes(h);

    bob.send({ type: 'sync', id: 'w1', chats: {} });
    const first = await bob.next((f) => f.type === 'sync_result' && f.ref === 'w1');
    expect((first.chats as any[])[0].messages.map((m: any) => m.seq)).toEqual([1]);
    expect(first.hasMore).toBe(true);
    expect(sizes.get('w1')).toBeGreaterThan(small);
    bob.send({ type: 'sync', id: 'w2', chats: { [direct]: 1 } });
    const second = await bob.next((f) => f.type === 'sync_result' && f.ref === 'w2');
    expect((second.chats as any[])[0].messages.map((m: any) => m.seq)).toEqual([2]);
    expect(second.hasMore).toBe(false);

    const bySeq = async (id: string, token: string): Promise<Frame> => {
      bob.send({ type: 'sync', id, token });
      return bob.next((f) => f.type === 'sync_result' && f.ref === id);
    };
    // The inbox starts with member_added; the big message then comes alone.
    let page = await bySeq('t1', '');
    const kinds: string[] = [];
    for (let i = 2; ; i++) {
      kinds.push((page.events as any[]).map((e) => (e.event.kind === 'message' ? `m${e.event.message.seq}` : e.event.kind)).join('+'));
      if (!page.hasMore) break;
      expect(i).toBeLessThan(10);
      page = await bySeq(`t${i}`, page.token as string);
    }
    expect(kinds).toEqual(['member_added', 'm1', 'm2']);
  });
});
