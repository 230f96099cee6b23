import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenService } from '../../server/auth/TokenService.ts';
import { createHttpApi } from '../../server/http/createHttpApi.ts';
import type { HttpApi } from '../../server/http/createHttpApi.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryLog } from '../../server/memory/MemoryLog.ts';
import { rawRequest as rawHttp } from '../support/rawHttp.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { InboxEvent } from '../../server/ports/MessageStore.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';
import type { ServerLimits } from '../../server/protocol/limits.ts';

const ADMIN_TOKEN = 'admin-secret';
const GATEWAYS = ['ws://127.0.0.1:7001', 'ws://127.0.0.1:7002'];
const START_MS = 1_700_000_000_000;

interface Harness {
  api: HttpApi;
  base: string;
  time: ManualTime;
  store: MemoryMessageStore;
  directory: MemoryDirectory;
  limits: ServerLimits;
  restarts: number;
  log: MemoryLog;
  failRestart: boolean;
}

interface CallOptions {
  body?: unknown;
  raw?: string;
  token?: string;
  headers?: Record<string, string>;
}

interface CallResult {
  status: number;
  /** Response bodies are checked field by field, so they stay loosely typed. */
  json: any;
  headers: Headers;
}

let h: Harness;

async function start(overrides: Partial<ServerLimits> = {}): Promise<Harness> {
  const time = new ManualTime(START_MS);
  const limits = resolveLimits(overrides);
  const directory = new MemoryDirectory();
  const store = new MemoryMessageStore('epoch-test');
  const harness = { time, store, directory, limits, restarts: 0, log: new MemoryLog(), failRestart: false } as unknown as Harness;
  harness.api = createHttpApi({
    time,
    random: new SeededRandom(42),
    directory,
    store,
    tokens: new TokenService('test-secret', time, limits.tokenTtlMs),
    limits,
    gatewayUrls: () => GATEWAYS,
    admin: {
      token: ADMIN_TOKEN,
      restartChatServers: async () => {
        if (harness.failRestart) throw new Error('supervisor unreachable');
        harness.restarts++;
        return 3;
      },
    },
    log: harness.log,
  });
  const port = await harness.api.listen(0, '127.0.0.1');
  harness.base = `http://127.0.0.1:${port}`;
  return harness;
}

async function restart(overrides: Partial<ServerLimits>): Promise<void> {
  await h.api.close();
  h = await start(overrides);
}

async function call(method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${h.base}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

async function register(id: string, password = `pw-${id}`, name?: string): Promise<void> {
  const res = await call('POST', '/v1/users', { body: { id, password, name } });
  expect(res.status).toBe(201);
}

async function login(user: string, password = `pw-${user}`, device?: string): Promise<string> {
  const res = await call('POST', '/v1/login', { body: { user, password, device } });
  expect(res.status).toBe(200);
  return res.json.token as string;
}

/** Registers the users and returns a token for each. */
async function users(...ids: string[]): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const id of ids) {
    await register(id);
    tokens[id] = await login(id);
  }
  return tokens;
}

/** Makes every pair of these users friends (as an accepted request would). */
async function befriendAll(...ids: string[]): Promise<void> {
  for (const a of ids) for (const b of ids) if (a < b) await h.directory.addFriends(a, b);
}

async function inbox(userId: string): Promise<InboxEvent[]> {
  const page = await h.store.readInbox(userId, 0, 1000);
  return page.events.map((e) => e.event);
}

async function appendMessages(chatId: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await h.store.append({
      chatId, senderId: 'alice', senderDeviceId: 'd1', clientMsgId: `c${i}`, body: `hello ${i}`,
      msgId: `m${i}`, sentAtMs: START_MS + i,
    });
  }
}

/** Sends a request with a raw body, without fetch, so streaming and early replies can be controlled. */
function rawRequest(path: string, chunks: Buffer[], headers: Record<string, string | number>): Promise<{ status: number; text: string; connection: string | undefined }> {
  const url = new URL(path, h.base);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

function errorOf(res: CallResult): { status: number; code: string } {
  return { status: res.status, code: res.json?.error?.code };
}

beforeEach(async () => {
  h = await start();
});

afterEach(async () => {
  await h.api.close();
});

describe('accounts and login', () => {
  it('registers, logs in and reads the profile', async () => {
    const created = await call('POST', '/v1/users', { body: { id: 'alice', name: 'Alice', password: 'secret' } });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ id: 'alice', name: 'Alice' });

    const res = await call('POST', '/v1/login', { body: { user: 'alice', password: 'secret' } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      user: 'alice', device: 'd1', expiresAtMs: START_MS + h.limits.tokenTtlMs, gateways: GATEWAYS,
    });
    expect(typeof res.json.token).toBe('string');

    const me = await call('GET', '/v1/me', { token: res.json.token });
    expect(me.status).toBe(200);
    expect(me.json).toEqual({ id: 'alice', name: 'Alice' });
  });

  it('defaults the name to the id and takes a device id at login', async () => {
    await register('bob');
    const res = await call('POST', '/v1/login', { body: { user: 'bob', password: 'pw-bob', device: 'tablet-2' } });
    expect(res.json.device).toBe('tablet-2');
    expect((await call('GET', '/v1/me', { token: res.json.token })).json).toEqual({ id: 'bob', name: 'bob' });
  });

  it('refuses a wrong password and an unknown user alike with 401 BAD_CREDENTIALS', async () => {
    await register('alice', 'right');
    const wrong = await call('POST', '/v1/login', { body: { user: 'alice', password: 'wrong' } });
    const unknown = await call('POST', '/v1/login', { body: { user: 'nobody', password: 'right' } });
    expect(errorOf(wrong)).toEqual({ status: 401, code: 'BAD_CREDENTIALS' });
    expect(errorOf(unknown)).toEqual({ status: 401, code: 'BAD_CREDENTIALS' });
    expect(unknown.json.error.message).toBe(wrong.json.error.message);
  });

  it('refuses a second user with the same id with 409 USER_EXISTS and keeps the first password', async () => {
    await register('alice', 'first');
    const again = await call('POST', '/v1/users', { body: { id: 'alice', password: 'second' } });
    expect(errorOf(again)).toEqual({ status: 409, code: 'USER_EXISTS' });
    expect((await call('POST', '/v1/login', { body: { user: 'alice', password: 'first' } })).status).toBe(200);
  });

  it('validates ids and passwords', async () => {
    for (const body of [
      { id: 'has space', password: 'x' },
      { id: 'x'.repeat(65), password: 'x' },
      { id: '', password: 'x' },
      { id: 5, password: 'x' },
      { id: 'ok', password: '' },
      { id: 'ok', password: 'x'.repeat(257) },
      { id: 'ok', password: 'x', name: 7 },
      // The one id rule: no separator (":" is reserved for chat ids), no dot, no control characters.
      { id: 'a:b', password: 'x' },
      { id: 'a.b', password: 'x' },
      { id: 'nul\u0000', password: 'x' },
      { id: '\u001b[31mred', password: 'x' },
      { id: '__proto__\n', password: 'x' },
    ]) {
      expect(errorOf(await call('POST', '/v1/users', { body }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    }
    expect((await call('POST', '/v1/users', { body: { id: 'a-Z_09x', password: 'x'.repeat(256) } })).status).toBe(201);
    // A device id follows the same rule.
    expect(errorOf(await call('POST', '/v1/login', { body: { user: 'a-Z_09x', password: 'x'.repeat(256), device: 'tab\u0007' } }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('accepts a token until it expires, then answers 401 TOKEN_EXPIRED', async () => {
    await register('alice');
    const token = await login('alice');
    h.time.advance(h.limits.tokenTtlMs - 1);
    expect((await call('GET', '/v1/me', { token })).status).toBe(200);
    h.time.advance(1);
    const expired = await call('GET', '/v1/me', { token });
    expect(errorOf(expired)).toEqual({ status: 401, code: 'TOKEN_EXPIRED' });
  });

  it('answers 401 BAD_TOKEN for a missing, malformed or foreign token', async () => {
    await register('alice');
    const foreign = new TokenService('other-secret', h.time, 60_000).issue('alice', 'd1').token;
    const token = await login('alice');
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const attempts: Array<Record<string, string>> = [
      {}, { authorization: 'Bearer nonsense' }, { authorization: `Bearer ${foreign}` }, { authorization: `Bearer ${tampered}` }, { authorization: token },
    ];
    for (const headers of attempts) {
      const res = await call('GET', '/v1/me', { headers });
      expect(errorOf(res)).toEqual({ status: 401, code: 'BAD_TOKEN' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });
});

describe('profile and friends', () => {
  it('makes friends only by request and accept, and refuses unknown users with 404', async () => {
    const t = await users('alice', 'bob');
    expect(errorOf(await call('POST', '/v1/friends', { token: t.alice, body: { user: 'ghost' } }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    const asked = await call('POST', '/v1/friends', { token: t.alice, body: { user: 'bob' } });
    expect(asked.status).toBe(202);
    expect(asked.json).toEqual({ status: 'requested' });
    // A request alone makes nobody a friend.
    expect((await call('GET', '/v1/friends', { token: t.alice })).json).toEqual({ friends: [], incoming: [], outgoing: ['bob'] });
    expect((await call('GET', '/v1/friends', { token: t.bob })).json).toEqual({ friends: [], incoming: ['alice'], outgoing: [] });
    expect(await h.directory.friendsOf('bob')).toEqual([]);
    // The requester cannot accept for the other.
    expect(errorOf(await call('POST', '/v1/friends/requests/bob/accept', { token: t.alice }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    const accepted = await call('POST', '/v1/friends/requests/alice/accept', { token: t.bob });
    expect(accepted.status).toBe(200);
    expect((await call('GET', '/v1/friends', { token: t.alice })).json).toEqual({ friends: ['bob'], incoming: [], outgoing: [] });
    expect((await call('GET', '/v1/friends', { token: t.bob })).json).toEqual({ friends: ['alice'], incoming: [], outgoing: [] });
  });

  it('accepts by asking back, and declines or cancels a request', async () => {
    const t = await users('alice', 'bob', 'carol');
    await call('POST', '/v1/friends', { token: t.alice, body: { user: 'bob' } });
    const back = await call('POST', '/v1/friends', { token: t.bob, body: { user: 'alice' } });
    expect(back.status).toBe(200);
    expect(await h.directory.friendsOf('alice')).toEqual(['bob']);
    await call('POST', '/v1/friends', { token: t.carol, body: { user: 'alice' } });
    expect((await call('DELETE', '/v1/friends/requests/carol', { token: t.alice })).status).toBe(204);
    expect(errorOf(await call('DELETE', '/v1/friends/requests/carol', { token: t.alice }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(await h.directory.friendsOf('carol')).toEqual([]);
  });

  it('renames the user and tells the user and each friend, but nobody else', async () => {
    const t = await users('alice', 'bob', 'carol');
    await call('POST', '/v1/friends', { token: t.alice, body: { user: 'bob' } });
    await call('POST', '/v1/friends/requests/alice/accept', { token: t.bob });
    // Carol asked alice, who never answered: a pending request is not a friendship.
    await call('POST', '/v1/friends', { token: t.carol, body: { user: 'alice' } });
    const res = await call('PUT', '/v1/me', { token: t.alice, body: { name: 'Alice A.' } });
    expect(res.json).toEqual({ id: 'alice', name: 'Alice A.' });
    const event = { kind: 'profile_changed', userId: 'alice', name: 'Alice A.' };
    expect(await inbox('alice')).toEqual([event]);
    expect(await inbox('bob')).toEqual([event]);
    expect(await inbox('carol')).toEqual([]);
    // A second change gets its own event rather than being taken for a repeat.
    await call('PUT', '/v1/me', { token: t.alice, body: { name: 'Alice B.' } });
    expect(await inbox('bob')).toEqual([event, { ...event, name: 'Alice B.' }]);
    expect((await call('GET', '/v1/me', { token: t.alice })).json.name).toBe('Alice B.');
  });
});

describe('chats', () => {
  it('creates a direct chat once; asking again from either side returns it with 200', async () => {
    const t = await users('bob', 'alice');
    await befriendAll('alice', 'bob');
    const first = await call('POST', '/v1/chats', { token: t.bob!, body: { kind: 'direct', members: ['alice'] } });
    expect(first.status).toBe(201);
    expect(first.json).toEqual({
      id: 'd:alice:bob', kind: 'direct', name: '',
      members: [{ user: 'alice', joinedAtSeq: 0 }, { user: 'bob', joinedAtSeq: 0 }],
    });
    const again = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'direct', members: ['bob', 'alice'] } });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe('d:alice:bob');
    const list = await call('GET', '/v1/chats', { token: t.alice });
    expect(list.json.chats).toEqual([{ ...first.json, head: 0 }]);
    // Only the first creation announced the chat: each member gets its own member_added.
    expect(await inbox('alice')).toEqual([{ kind: 'member_added', chatId: 'd:alice:bob', userId: 'alice' }]);
    expect(await inbox('bob')).toEqual([{ kind: 'member_added', chatId: 'd:alice:bob', userId: 'bob' }]);
  });

  it('refuses a direct chat with oneself or with two others', async () => {
    const t = await users('alice', 'bob', 'carol');
    for (const members of [[], ['alice'], ['bob', 'carol']]) {
      const res = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'direct', members } });
      expect(errorOf(res)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    }
  });

  it('direct chat ids are unambiguous: user ids cannot hold the ":" separator', async () => {
    const t = await users('a', 'c');
    for (const id of ['b:c', 'a:b']) expect(errorOf(await call('POST', '/v1/users', { body: { id, password: 'x' } }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    const other = await call('POST', '/v1/chats', { token: t.c, body: { kind: 'direct', members: ['a:b'] } });
    expect(errorOf(other)).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('creates a group with the caller and refuses unknown members, naming the first', async () => {
    const t = await users('alice', 'bob');
    await befriendAll('alice', 'bob');
    const bad = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'group', members: ['bob', 'ghost', 'ghoul'] } });
    expect(errorOf(bad)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(bad.json.error.message).toContain('ghost');
    expect(await h.directory.chatsOf('alice')).toEqual([]);

    const ok = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'group', members: ['bob'], name: 'Team' } });
    expect(ok.status).toBe(201);
    expect(ok.json.id).toMatch(/^g:[0-9a-z]{12}$/);
    expect(ok.json).toMatchObject({ kind: 'group', name: 'Team' });
    expect(ok.json.members.map((m: { user: string }) => m.user)).toEqual(['alice', 'bob']);
    expect(await h.directory.chatsOf('bob')).toEqual([ok.json.id]);
  });

  it('refuses a group larger than groupMembersMax, counting the caller', async () => {
    await restart({ groupMembersMax: 3 });
    const t = await users('alice', 'bob', 'carol', 'dave');
    await befriendAll('alice', 'bob', 'carol', 'dave');
    const over = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'group', members: ['bob', 'carol', 'dave'] } });
    expect(errorOf(over)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(over.json.error.message).toContain('groupMembersMax');
    const atLimit = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'group', members: ['bob', 'carol', 'alice', 'bob'] } });
    expect(atLimit.status).toBe(201);
    expect(atLimit.json.members).toHaveLength(3);
    const addFourth = await call('POST', `/v1/chats/${atLimit.json.id}/members`, { token: t.alice, body: { user: 'dave' } });
    expect(errorOf(addFourth)).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('answers 404 NOT_FOUND alike for a chat of others and for an unknown chat', async () => {
    const t = await users('alice', 'bob', 'carol');
    await befriendAll('alice', 'bob');
    const chat = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'direct', members: ['bob'] } });
    const id = encodeURIComponent(chat.json.id);
    const foreign = await call('GET', `/v1/chats/${id}`, { token: t.carol });
    const unknown = await call('GET', '/v1/chats/g:doesnotexist', { token: t.carol });
    expect(errorOf(foreign)).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(foreign.json).toEqual(unknown.json);
    expect(errorOf(await call('GET', `/v1/chats/${id}/messages`, { token: t.carol }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(errorOf(await call('PATCH', `/v1/chats/${id}`, { token: t.carol, body: { name: 'x' } }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect((await call('GET', `/v1/chats/${id}`, { token: t.bob })).json.id).toBe('d:alice:bob');
  });

  it('pages history with after and limit and reports head and hasMore', async () => {
    await restart({ historyPageMax: 3 });
    const t = await users('alice', 'bob');
    await befriendAll('alice', 'bob');
    const chat = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'direct', members: ['bob'] } });
    await appendMessages(chat.json.id, 5);
    const path = `/v1/chats/${chat.json.id}/messages`;

    const first = await call('GET', `${path}?after=0&limit=2`, { token: t.bob });
    expect(first.json.head).toBe(5);
    expect(first.json.hasMore).toBe(true);
    expect(first.json.messages).toEqual([1, 2].map((seq) => ({
      type: 'message', chat: 'd:alice:bob', seq, msgId: `m${seq}`, from: 'alice', fromDevice: 'd1',
      clientMsgId: `c${seq}`, body: `hello ${seq}`, ts: START_MS + seq,
    })));
    const second = await call('GET', `${path}?after=2&limit=2`, { token: t.bob });
    expect(second.json.messages.map((m: { seq: number }) => m.seq)).toEqual([3, 4]);
    expect(second.json.hasMore).toBe(true);
    const last = await call('GET', `${path}?after=4&limit=2`, { token: t.bob });
    expect(last.json.messages.map((m: { seq: number }) => m.seq)).toEqual([5]);
    expect(last.json.hasMore).toBe(false);

    // The limit is clamped to 1..historyPageMax.
    expect((await call('GET', `${path}?limit=100`, { token: t.bob })).json.messages).toHaveLength(3);
    expect((await call('GET', `${path}?limit=0`, { token: t.bob })).json.messages).toHaveLength(1);
    expect((await call('GET', path, { token: t.bob })).json.messages).toHaveLength(3);
    expect(errorOf(await call('GET', `${path}?after=-1`, { token: t.bob }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(errorOf(await call('GET', `${path}?limit=ten`, { token: t.bob }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect((await call('GET', `/v1/chats/${chat.json.id}`, { token: t.bob })).json.head).toBe(5);
  });

  it('renames a chat and changes members, with inbox events to the right users', async () => {
    const t = await users('alice', 'bob', 'carol');
    await befriendAll('alice', 'bob', 'carol');
    const chat = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'group', members: ['bob'] } });
    const id: string = chat.json.id;
    await appendMessages(id, 2);

    const renamed = await call('PATCH', `/v1/chats/${id}`, { token: t.bob, body: { name: 'Weekend' } });
    expect(renamed.status).toBe(200);
    expect(renamed.json.name).toBe('Weekend');

    const added = await call('POST', `/v1/chats/${id}/members`, { token: t.bob, body: { user: 'carol' } });
    expect(added.status).toBe(200);
    expect(added.json.members).toContainEqual({ user: 'carol', joinedAtSeq: 2 });
    expect((await h.directory.getChat(id))?.members.get('carol')).toBe(2);

    const removed = await call('DELETE', `/v1/chats/${id}/members/bob`, { token: t.alice });
    expect(removed.status).toBe(204);
    expect(errorOf(await call('GET', `/v1/chats/${id}`, { token: t.bob }))).toEqual({ status: 404, code: 'NOT_FOUND' });

    // At creation each member is told only of itself (n^2 events would not scale to big groups).
    const created = [{ kind: 'member_added', chatId: id, userId: 'alice' }];
    const renameEvent = { kind: 'chat_renamed', chatId: id, name: 'Weekend' };
    const carolAdded = { kind: 'member_added', chatId: id, userId: 'carol' };
    const bobRemoved = { kind: 'member_removed', chatId: id, userId: 'bob' };
    expect(await inbox('alice')).toEqual([...created, renameEvent, carolAdded, bobRemoved]);
    // Bob is removed: the two messages he was owed are copied into his inbox first (the inbox is
    // filled when read, and later fills no longer see the chat).
    const copied = [1, 2].map((seq) => expect.objectContaining({ kind: 'message', message: expect.objectContaining({ chatId: id, seq }) }));
    expect(await inbox('bob')).toEqual([{ kind: 'member_added', chatId: id, userId: 'bob' }, renameEvent, carolAdded, ...copied, bobRemoved]);
    expect(await inbox('carol')).toEqual([carolAdded, bobRemoved]);

    // Added again after leaving: a fresh member_added, not swallowed as a repeat.
    await call('POST', `/v1/chats/${id}/members`, { token: t.alice, body: { user: 'bob' } });
    expect((await inbox('bob')).at(-1)).toEqual({ kind: 'member_added', chatId: id, userId: 'bob' });
    expect(await inbox('bob')).toHaveLength(7);
  });

  it('keeps the members of a direct chat fixed', async () => {
    const t = await users('alice', 'bob', 'carol');
    await befriendAll('alice', 'bob', 'carol');
    const chat = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'direct', members: ['bob'] } });
    const add = await call('POST', `/v1/chats/${chat.json.id}/members`, { token: t.alice, body: { user: 'carol' } });
    expect(errorOf(add)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(errorOf(await call('DELETE', `/v1/chats/${chat.json.id}/members/bob`, { token: t.alice }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });
});

describe('request handling', () => {
  it('answers malformed JSON and wrong shapes with 400 BAD_REQUEST', async () => {
    expect(errorOf(await call('POST', '/v1/users', { raw: '{"id": "alice",' }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(errorOf(await call('POST', '/v1/users', { raw: '[1,2]' }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(errorOf(await call('POST', '/v1/users', { raw: 'null' }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(errorOf(await call('POST', '/v1/users', {}))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect((await call('GET', '/v1/health')).status).toBe(200);
  });

  it('answers unknown routes with 404 and wrong methods with 405', async () => {
    expect(errorOf(await call('GET', '/v1/nothing'))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(errorOf(await call('GET', '/v1/me/'))).toEqual({ status: 404, code: 'NOT_FOUND' });
    const wrong = await call('DELETE', '/v1/users');
    expect(errorOf(wrong)).toEqual({ status: 405, code: 'BAD_REQUEST' });
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('refuses a body over httpBodyBytesMax with 413 and keeps serving', async () => {
    await restart({ httpBodyBytesMax: 1024 });
    const big = { id: 'alice', password: 'x'.repeat(2000) };
    const res = await call('POST', '/v1/users', { body: big });
    expect(errorOf(res)).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect((await call('GET', '/v1/health')).status).toBe(200);
    expect(await h.directory.getUser('alice')).toBeUndefined();
    // Just under the limit is accepted.
    const fits = JSON.stringify({ id: 'alice', password: 'x'.repeat(200) });
    expect((await call('POST', '/v1/users', { raw: fits })).status).toBe(201);
  });

  it('refuses a chunked body once it passes the limit, without a declared length', async () => {
    await restart({ httpBodyBytesMax: 1024 });
    const chunks = Array.from({ length: 8 }, () => Buffer.from('x'.repeat(512)));
    const res = await rawRequest('/v1/users', chunks, { 'transfer-encoding': 'chunked', 'content-type': 'application/json' });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text).error.code).toBe('PAYLOAD_TOO_LARGE');
    // A small excess is drained, so the connection stays usable.
    expect(res.connection).toBe('keep-alive');
    expect((await call('GET', '/v1/health')).status).toBe(200);
  });

  it('closes the connection after refusing a declared length far over the limit', async () => {
    await restart({ httpBodyBytesMax: 1024 });
    const res = await rawRequest('/v1/users', [], { 'content-length': 50 * 1024 * 1024 });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.connection).toBe('close');
    expect((await call('GET', '/v1/health')).json.status).toBe('ok');
  });

  it('turns an unexpected failure into 500 INTERNAL without details, logs it under the correlation id the response carries, and keeps serving', async () => {
    h.failRestart = true;
    const res = await call('POST', '/v1/admin/restart-chat-servers', { headers: { 'x-admin-token': ADMIN_TOKEN } });
    expect(errorOf(res)).toEqual({ status: 500, code: 'INTERNAL' });
    expect(res.json.error.message).not.toContain('supervisor');
    // Issue 15, finding 9: a 500 was logged nowhere and the client had nothing to quote.
    const correlationId = res.headers.get('x-correlation-id');
    expect(correlationId).toMatch(/^[0-9a-z]{16}$/);
    expect(res.json.error.correlationId).toBe(correlationId);
    expect(h.log.records).toHaveLength(1);
    expect(h.log.records[0]).toMatchObject({ event: 'http-internal-error', fields: { correlationId, method: 'POST', path: '/v1/admin/restart-chat-servers' } });
    expect(String(h.log.records[0]!.fields.error)).toContain('supervisor unreachable');
    const again = await call('POST', '/v1/admin/restart-chat-servers', { headers: { 'x-admin-token': ADMIN_TOKEN } });
    expect(again.headers.get('x-correlation-id')).not.toBe(correlationId);
    expect((await call('GET', '/v1/health')).status).toBe(200);
  });

  it('refuses a body that is not declared application/json with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const body = JSON.stringify({ id: 'alice', password: 'pw' });
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'application/jsonx', undefined]) {
      const res = await fetch(`${h.base}/v1/users`, { method: 'POST', headers: type === undefined ? {} : { 'content-type': type }, body: Buffer.from(body) });
      const json = await res.json() as any;
      expect({ type, status: res.status, code: json.error.code }).toEqual({ type, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    expect(await h.directory.getUser('alice')).toBeUndefined();
    for (const type of ['application/json', 'Application/JSON; charset=utf-8', 'application/json ; charset="utf-8"']) {
      const res = await fetch(`${h.base}/v1/users`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify({ id: `u${type.length}`, password: 'pw' }) });
      expect({ type, status: res.status }).toEqual({ type, status: 201 });
    }
    // No body, no type needed.
    expect((await call('POST', '/v1/admin/restart-chat-servers', { headers: { 'x-admin-token': ADMIN_TOKEN } })).status).toBe(200);
  });

  it('answers request targets and requests Node cannot parse with a JSON 400 BAD_REQUEST', async () => {
    for (const target of ['*', 'http://evil/v1/health', '//', '//[', '//:99999']) {
      const res = await rawHttp(h.base, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect({ target, status: res.status }).toEqual({ target, status: target.startsWith('//') ? 404 : 400 });
      expect(JSON.parse(res.body).error.code).toBe(target.startsWith('//') ? 'NOT_FOUND' : 'BAD_REQUEST');
    }
    const broken = await rawHttp(h.base, 'GET gw HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body).error.code).toBe('BAD_REQUEST');
    expect((await call('GET', '/v1/health')).status).toBe(200);
  });
});

describe('health, discovery and admin', () => {
  it('reports health and gateways', async () => {
    expect((await call('GET', '/v1/health')).json).toEqual({ status: 'ok', epoch: 'epoch-test', gateways: 2 });
    expect((await call('GET', '/v1/gateways')).json).toEqual({ gateways: GATEWAYS });
  });

  it('restarts chat servers only with the admin token', async () => {
    const missing = await call('POST', '/v1/admin/restart-chat-servers');
    const wrong = await call('POST', '/v1/admin/restart-chat-servers', { headers: { 'x-admin-token': 'guess' } });
    expect(errorOf(missing)).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(errorOf(wrong)).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(h.restarts).toBe(0);
    const ok = await call('POST', '/v1/admin/restart-chat-servers', { headers: { 'x-admin-token': ADMIN_TOKEN } });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ restarted: 3 });
    expect(h.restarts).toBe(1);
  });

  it('provisions users, friendships and chats in bulk, skipping existing users', async () => {
    await register('alice', 'original');
    const admin = { 'x-admin-token': ADMIN_TOKEN };
    const body = {
      users: [{ id: 'alice', password: 'ignored' }, { id: 'bob', name: 'Bob', password: 'pb' }, { id: 'carol', password: 'pc' }],
      friendships: [['alice', 'bob'], ['bob', 'carol']],
      chats: [
        { kind: 'direct', members: ['carol', 'alice'] },
        { kind: 'group', members: ['alice', 'bob', 'carol'], name: 'All' },
        { kind: 'group', id: 'g:fixed', members: ['bob'] },
      ],
    };
    expect(errorOf(await call('POST', '/v1/admin/provision', { body }))).toEqual({ status: 403, code: 'FORBIDDEN' });

    const res = await call('POST', '/v1/admin/provision', { body, headers: admin });
    expect(res.status).toBe(200);
    expect(res.json.users).toBe(2);
    expect(res.json.friendships).toBe(2);
    expect(res.json.chats.map((c: { id: string; created: boolean }) => [c.id, c.created])).toEqual([
      ['d:alice:carol', true], [expect.stringMatching(/^g:[0-9a-z]{12}$/), true], ['g:fixed', true],
    ]);
    expect(res.json.chats[1]).toMatchObject({ kind: 'group', name: 'All' });
    expect((await h.directory.getChat('g:fixed'))?.members).toEqual(new Map([['bob', 0]]));
    expect(await h.directory.friendsOf('bob')).toEqual(['alice', 'carol']);
    expect((await h.directory.getUser('bob'))?.name).toBe('Bob');
    expect((await call('POST', '/v1/login', { body: { user: 'alice', password: 'original' } })).status).toBe(200);
    expect((await call('POST', '/v1/login', { body: { user: 'carol', password: 'pc' } })).status).toBe(200);
    expect(await inbox('carol')).toContainEqual({ kind: 'member_added', chatId: 'd:alice:carol', userId: 'carol' });
    expect(await inbox('carol')).not.toContainEqual({ kind: 'member_added', chatId: 'd:alice:carol', userId: 'alice' });

    // A rerun creates nothing new.
    const rerun = await call('POST', '/v1/admin/provision', { body, headers: admin });
    expect(rerun.json.users).toBe(0);
    expect(rerun.json.chats.map((c: { created: boolean }) => c.created)).toEqual([false, true, false]);
  });

  it('refuses a provision naming an unknown user and writes nothing', async () => {
    const body = {
      users: [{ id: 'dave', password: 'pd' }],
      friendships: [['dave', 'ghost']],
    };
    const res = await call('POST', '/v1/admin/provision', { body, headers: { 'x-admin-token': ADMIN_TOKEN } });
    expect(errorOf(res)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(res.json.error.message).toContain('ghost');
    expect(await h.directory.getUser('dave')).toBeUndefined();
    const badItem = await call('POST', '/v1/admin/provision', { body: { chats: [{ kind: 'direct', members: ['dave'] }] }, headers: { 'x-admin-token': ADMIN_TOKEN } });
    expect(errorOf(badItem)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(badItem.json.error.message).toContain('chats[0]');
  });
});

describe('consent (issue 15, finding 5)', () => {
  it('puts into a chat only friends: a stranger, or one only asked, is refused with 403 NOT_FRIENDS', async () => {
    const t = await users('alice', 'bob', 'carol', 'mallory');
    await befriendAll('alice', 'bob');
    // Mallory asked carol, who never accepted: still strangers.
    await call('POST', '/v1/friends', { token: t.mallory, body: { user: 'carol' } });
    expect(errorOf(await call('POST', '/v1/chats', { token: t.mallory, body: { kind: 'direct', members: ['carol'] } }))).toEqual({ status: 403, code: 'NOT_FRIENDS' });
    expect(errorOf(await call('POST', '/v1/chats', { token: t.mallory, body: { kind: 'group', members: ['alice', 'carol'] } }))).toEqual({ status: 403, code: 'NOT_FRIENDS' });
    expect(await h.directory.chatsOf('carol')).toEqual([]);
    expect(await inbox('carol')).toEqual([]);
    // A group of friends is fine; adding a stranger to it is not, even by a member.
    const group = await call('POST', '/v1/chats', { token: t.alice, body: { kind: 'group', members: ['bob'] } });
    expect(group.status).toBe(201);
    const add = await call('POST', `/v1/chats/${group.json.id}/members`, { token: t.bob, body: { user: 'mallory' } });
    expect(errorOf(add)).toEqual({ status: 403, code: 'NOT_FRIENDS' });
    expect(await h.directory.chatsOf('mallory')).toEqual([]);
  });

  it('lets the admin provisioning put anyone together (load-test setup)', async () => {
    await users('alice', 'bob');
    const res = await call('POST', '/v1/admin/provision', { body: { chats: [{ kind: 'direct', members: ['alice', 'bob'] }] }, headers: { 'x-admin-token': ADMIN_TOKEN } });
    expect(res.status).toBe(200);
    expect(await h.directory.chatsOf('bob')).toEqual(['d:alice:bob']);
  });
});

describe('rate limits on register and login (issue 15, finding 6)', () => {
  it('answers 40 wrong passwords for one user with 429 and Retry-After, and the right one too until the clock moves on', async () => {
    await register('alice', 'right-password');
    const statuses: number[] = [];
    let last: CallResult | undefined;
    for (let i = 0; i < 40; i++) {
      last = await call('POST', '/v1/login', { body: { user: 'alice', password: `guess-${i}` } });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, h.limits.loginFailuresPerUserBurstMax).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(h.limits.loginFailuresPerUserBurstMax).every((s) => s === 429)).toBe(true);
    expect(errorOf(last!)).toEqual({ status: 429, code: 'TOO_MANY_REQUESTS' });
    const retryAfterS = Number(last!.headers.get('retry-after'));
    expect(retryAfterS).toBeGreaterThanOrEqual(1);
    // Guessing right now gains nothing.
    expect((await call('POST', '/v1/login', { body: { user: 'alice', password: 'right-password' } })).status).toBe(429);
    // Another user is not affected (the address budget is larger).
    await register('bob');
    expect((await call('POST', '/v1/login', { body: { user: 'bob', password: 'pw-bob' } })).status).toBe(200);
    h.time.advance(retryAfterS * 1000);
    expect((await call('POST', '/v1/login', { body: { user: 'alice', password: 'right-password' } })).status).toBe(200);
  });

  it('limits failed logins per client address over many user names', async () => {
    await restart({ loginFailuresPerAddressBurstMax: 5, loginFailuresPerAddressPerMinuteMax: 1 });
    await register('alice');
    for (let i = 0; i < 5; i++) expect((await call('POST', '/v1/login', { body: { user: `nobody${i}`, password: 'x' } })).status).toBe(401);
    const refused = await call('POST', '/v1/login', { body: { user: 'alice', password: 'pw-alice' } });
    expect(errorOf(refused)).toEqual({ status: 429, code: 'TOO_MANY_REQUESTS' });
    expect(refused.headers.get('retry-after')).toBe('60');
  });

  it('limits registrations per client address, then lets them through at the sustained rate', async () => {
    await restart({ registerPerAddressBurstMax: 3, registerPerAddressPerMinuteMax: 6 });
    for (let i = 0; i < 3; i++) expect((await call('POST', '/v1/users', { body: { id: `u${i}`, password: 'x' } })).status).toBe(201);
    const refused = await call('POST', '/v1/users', { body: { id: 'u3', password: 'x' } });
    expect(errorOf(refused)).toEqual({ status: 429, code: 'TOO_MANY_REQUESTS' });
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(await h.directory.getUser('u3')).toBeUndefined();
    h.time.advance(10_000);
    expect((await call('POST', '/v1/users', { body: { id: 'u3', password: 'x' } })).status).toBe(201);
  });
});

describe('tokens and ids (issue 15, findings 3 and 7)', () => {
  it('refuses a token signed with any other secret, or altered in any byte', async () => {
    await register('alice');
    const token = await login('alice');
    expect((await call('GET', '/v1/me', { token })).status).toBe(200);
    const forged = [
      new TokenService('chatsim-dev-secret', h.time, 60_000).issue('alice', 'd1').token,
      new TokenService('another-secret-entirely', h.time, 60_000).issue('alice', 'd1').token,
    ];
    for (const bad of [...forged, ...everyByteAltered(token)]) {
      expect(errorOf(await call('GET', '/v1/me', { token: bad })), bad).toEqual({ status: 401, code: 'BAD_TOKEN' });
    }
  });

  it('refuses non-canonical spellings of a valid token: junk appended, padding, standard base64', async () => {
    await register('alice');
    const token = await login('alice');
    const [body, sig] = token.split('.') as [string, string];
    const std = (s: string): string => s.replace(/-/g, '+').replace(/_/g, '/');
    const variants = [`${token}junk`, `${token}=`, `${token}==`, `${body}=.${sig}`, `${std(body)}.${std(sig)}`, `${body}.${sig}.`, `.${token}`];
    for (const variant of variants) {
      if (variant === token) continue;
      expect(errorOf(await call('GET', '/v1/me', { token: variant })), variant).toEqual({ status: 401, code: 'BAD_TOKEN' });
    }
  });

  it('refuses a provisioned group whose id breaks the id rule (__proto__, constructor, no g: prefix)', async () => {
    await users('alice');
    for (const id of ['__proto__', 'constructor', 'g:', 'g:a:b', 'g:\u001b[2J', 'team']) {
      const res = await call('POST', '/v1/admin/provision', { body: { chats: [{ kind: 'group', id, members: ['alice'] }] }, headers: { 'x-admin-token': ADMIN_TOKEN } });
      expect(errorOf(res), id).toEqual({ status: 400, code: 'BAD_REQUEST' });
    }
  });
});

/** The token with each character in turn replaced by another of the base64url alphabet (or the dot moved). */
function everyByteAltered(token: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < token.length; i++) {
    const replacement = token[i] === 'A' ? 'B' : token[i] === '.' ? 'A' : 'A';
    out.push(token.slice(0, i) + replacement + token.slice(i + 1));
  }
  return out;
}
