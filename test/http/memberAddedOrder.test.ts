// Swarm seeds 4801486 and 4901896 (a join-group during a slow store, token sync): the new
// member's member_added was written after the directory took them in, so a token sync in
// between copied the chat's first messages before it; the phone, which starts a chat it joined
// at the first message after its own member_added (docs/protocol.md section 6), started after
// the next one and never showed seqs 6-9. The newcomer's member_added comes first.
import { afterEach, describe, expect, it } from 'vitest';
import { TokenService } from '../../server/auth/TokenService.ts';
import { createHttpApi, type HttpApi } from '../../server/http/createHttpApi.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryLog } from '../../server/memory/MemoryLog.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { InboxMaterializer } from '../../server/chat/InboxMaterializer.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

let api: HttpApi | undefined;
afterEach(async () => api?.close());

describe('POST /v1/chats/:id/members', () => {
  it("writes the newcomer's member_added before a token sync can copy the chat for them", async () => {
    const time = new ManualTime(1_700_000_000_000);
    const directory = new MemoryDirectory();
    const store = new MemoryMessageStore('epoch-test');
    const limits = resolveLimits();
    const fills = new InboxMaterializer({ store, directory });
    // The moment the directory takes the newcomer in, a message is stored (a send that was in
    // flight) and the newcomer's phone syncs by token.
    const addMember = directory.addMember.bind(directory);
    directory.addMember = async (chatId, userId, joinedAtSeq) => {
      const added = await addMember(chatId, userId, joinedAtSeq);
      await store.append({ chatId, senderId: 'alice', senderDeviceId: 'd1', clientMsgId: 'c4', body: 'm4', msgId: 'm4', sentAtMs: 4 });
      await fills.fill(userId, 100);
      return added;
    };
    api = createHttpApi({
      time, random: new SeededRandom(42), directory, store, limits, log: new MemoryLog(),
      tokens: new TokenService('test-only-key', time, limits.tokenTtlMs), gatewayUrls: () => ['ws://127.0.0.1:7001'],
      admin: { token: 'test-only-admin', restartChatServers: async () => 0 },
    });
    const base = `http://127.0.0.1:${await api.listen(0, '127.0.0.1')}`;
    const post = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as any };
    };
    for (const id of ['alice', 'bob', 'carol']) expect((await post('/v1/users', { id, password: `pw-${id}` })).status).toBe(201);
    for (const [a, b] of [['alice', 'bob'], ['alice', 'carol']] as const) await directory.addFriends(a, b);
    const alice = (await post('/v1/login', { user: 'alice', password: 'pw-alice' })).json.token as string;
    const chat = (await post('/v1/chats', { kind: 'group', members: ['bob'] }, alice)).json.id as string;
    for (let i = 1; i <= 3; i++) {
      await store.append({ chatId: chat, senderId: 'alice', senderDeviceId: 'd1', clientMsgId: `c${i}`, body: `m${i}`, msgId: `m${i}`, sentAtMs: i });
    }
    expect((await post(`/v1/chats/${chat}/members`, { user: 'carol' }, alice)).status).toBe(200);
    await fills.fill('carol', 100);
    const events = (await store.readInbox('carol', 0, 100)).events.map((e) => e.event);
    expect(events.map((e) => (e.kind === 'message' ? `message ${e.message.seq}` : e.kind))).toEqual(['member_added', 'message 4']);
  });
});
