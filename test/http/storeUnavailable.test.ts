// A message store that is down (the `store-outage` fault) is a documented, expected condition:
// every HTTP route that reads or writes the store answers 503 UNAVAILABLE (retryable, with
// retry-after), not 500 INTERNAL with an http-internal-error logged with a stack; once the
// store is back the same calls succeed. Real HTTP on loopback, the cluster's own fault wrapper.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenService } from '../../server/auth/TokenService.ts';
import { createHttpApi, type HttpApi } from '../../server/http/createHttpApi.ts';
import { FaultyMessageStore } from '../../server/faults/FaultyMessageStore.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryLog } from '../../server/memory/MemoryLog.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { isBackendUnavailable } from '../../server/ports/backendUnavailable.ts';
import { BackendUnavailable } from '../../server/faults/FaultWindows.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';

let api: HttpApi;
let base: string;
let store: FaultyMessageStore;
let directory: MemoryDirectory;
let log: MemoryLog;

beforeEach(async () => {
  const time = createSystemTime();
  const limits = resolveLimits({});
  directory = new MemoryDirectory();
  store = new FaultyMessageStore(new MemoryMessageStore('epoch-test'), time);
  log = new MemoryLog();
  api = createHttpApi({
    time, random: new SeededRandom(7), directory, store, limits, log,
    tokens: new TokenService('test-secret', time, limits.tokenTtlMs),
    gatewayUrls: () => ['ws://127.0.0.1:7001'],
    admin: { token: 'admin-secret', restartChatServers: async () => 0 },
  });
  base = `http://127.0.0.1:${await api.listen(0, '127.0.0.1')}`;
});
afterEach(async () => { await api.close(); });

async function call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

async function tokenOf(user: string): Promise<string> {
  expect((await call('POST', '/v1/users', undefined, { id: user, password: `pw-${user}` })).status).toBe(201);
  const res = await call('POST', '/v1/login', undefined, { user, password: `pw-${user}` });
  expect(res.status).toBe(200);
  return res.json.token as string;
}

describe('HTTP API while the message store is down', () => {
  it('answers 503 UNAVAILABLE with retry-after on every store route, logs no internal error, and serves again once the store is back', async () => {
    const [alice, bob] = [await tokenOf('alice'), await tokenOf('bob')];
    await tokenOf('carol');
    await directory.addFriends('alice', 'bob');
    await directory.addFriends('alice', 'carol');
    const group = await call('POST', '/v1/chats', alice, { kind: 'group', members: ['bob'], name: 'g' });
    expect(group.status).toBe(201);
    const id = encodeURIComponent(group.json.id as string);

    const end = store.startOutage();
    const calls: Array<[string, string, string, unknown?]> = [
      ['POST', `/v1/chats/${id}/members`, alice, { user: 'carol' }],
      ['DELETE', `/v1/chats/${id}/members/bob`, alice],
      ['GET', '/v1/chats', alice],
      ['GET', `/v1/chats/${id}`, bob],
      ['GET', `/v1/chats/${id}/messages`, bob],
      ['PATCH', `/v1/chats/${id}`, alice, { name: 'renamed' }],
    ];
    for (const [method, path, token, body] of calls) {
      const res = await call(method, path, token, body);
      expect({ route: `${method} ${path}`, status: res.status, code: res.json?.error?.code }).toEqual({ route: `${method} ${path}`, status: 503, code: 'UNAVAILABLE' });
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.json.error.correlationId).toBeUndefined();
    }
    expect(log.records.filter((r) => r.event === 'http-internal-error')).toEqual([]);
    end();

    const added = await call('POST', `/v1/chats/${id}/members`, alice, { user: 'carol' });
    expect(added.status).toBe(200);
    expect((await call('GET', `/v1/chats/${id}/messages`, bob)).status).toBe(200);
  });

  it('tells a backend that cannot be reached from a bug', () => {
    expect(isBackendUnavailable(new BackendUnavailable('the message store'))).toBe(true);
    expect(isBackendUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9042'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isBackendUnavailable(Object.assign(new Error('All host(s) tried for query failed'), { name: 'NoHostAvailableError' }))).toBe(true);
    expect(isBackendUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isBackendUnavailable(new TypeError("Cannot read properties of undefined (reading 'members')"))).toBe(false);
    expect(isBackendUnavailable('BACKEND_UNAVAILABLE')).toBe(false);
  });
});
