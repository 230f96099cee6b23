// Issue 15, findings 3, 6 and 7 at the gateway: who may open a connection, and how many.
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenService } from '../../server/auth/TokenService.ts';
import { CLOSE_CODES } from '../../server/protocol/errorCodes.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { TestClient } from '../support/TestClient.ts';

/** Opens an upgrade with the token in the Authorization header; resolves with the HTTP status of a refusal, or 101. */
function upgradeStatus(url: string, token: string): Promise<{ status: number; code?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'chatsim.v1', { headers: { authorization: `Bearer ${token}` } });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { error: { code: string } }).error.code }));
    });
    ws.on('open', () => { resolve({ status: 101 }); ws.terminate(); });
    ws.on('error', () => undefined);
  });
}

describe('admission at the upgrade', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('refuses a token signed with another secret, or altered in any byte, and lets the real one in', async () => {
    h = await startHarness();
    const token = await h.login('alice');
    const url = h.gatewayUrls[0]!;
    const foreign = [
      new TokenService('chatsim-dev-secret', h.time, 60_000).issue('alice', 'd1').token,
      new TokenService('some-other-secret-of-length', h.time, 60_000).issue('alice', 'd1').token,
    ];
    for (const bad of foreign) expect(await upgradeStatus(url, bad)).toEqual({ status: 401, code: 'BAD_TOKEN' });
    for (let i = 0; i < token.length; i++) {
      const altered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      expect(await upgradeStatus(url, altered), `byte ${i}`).toEqual({ status: 401, code: 'BAD_TOKEN' });
    }
    for (const variant of [`${token}junk`, `${token}=`, token.replace(/-/g, '+').replace(/_/g, '/') === token ? `${token}==` : token.replace(/-/g, '+').replace(/_/g, '/')]) {
      expect(await upgradeStatus(url, variant), variant).toEqual({ status: 401, code: 'BAD_TOKEN' });
    }
    expect(await upgradeStatus(url, token)).toEqual({ status: 101 });
  });

  it('refuses a valid signature for a user that does not exist, an empty subject, or a device id with control characters', async () => {
    h = await startHarness();
    await h.login('alice');
    const url = h.gatewayUrls[0]!;
    for (const [user, device] of [['ghost', 'd1'], ['', 'd1'], ['alice', 'dev\u0007\u001b[2J'], ['alice', ''], ['alice', 'a:b']] as const) {
      const token = h.cluster.tokens.issue(user, device).token;
      expect(await upgradeStatus(url, token), `${JSON.stringify(user)} ${JSON.stringify(device)}`).toEqual({ status: 401, code: 'BAD_TOKEN' });
    }
    expect(h.cluster.gateways[0]!.connectionCount()).toBe(0);
  });

  it('refuses a device past devicesPerUserMax with 429 TOO_MANY_DEVICES; a device already connected may reconnect', async () => {
    h = await startHarness({ limits: { devicesPerUserMax: 2 } });
    const url = h.gatewayUrls[0]!;
    await h.connect('alice', { device: 'phone' });
    await h.connect('alice', { device: 'tablet', gateway: 1 });
    expect(await upgradeStatus(url, await h.login('alice', 'laptop'))).toEqual({ status: 429, code: 'TOO_MANY_DEVICES' });
    expect(await upgradeStatus(url, await h.login('alice', 'phone'))).toEqual({ status: 101 });
  });
});

describe('one connection per device', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('2,000 connections on one token and device do not accumulate: each replaces the one before with 4409', async () => {
    h = await startHarness({ limits: { heartbeatTimeoutMs: 3_600_000 } });
    const token = await h.login('alice', 'd1');
    const clients: TestClient[] = [];
    for (let i = 0; i < 2000; i++) clients.push(await TestClient.connect(h.gatewayUrls[0]!, token));
    const last = clients.at(-1)!;
    await last.until(() => (clients.slice(0, -1).every((c) => c.closeCode !== undefined) ? true : undefined), 30_000);
    expect(new Set(clients.slice(0, -1).map((c) => c.closeCode))).toEqual(new Set([CLOSE_CODES.REPLACED.code]));
    await last.until(() => (h.cluster.gateways[0]!.connectionCount() === 1 ? true : undefined), 10_000);
    expect(last.closeCode).toBeUndefined();
    // The survivor still works.
    last.send({ type: 'ping' });
    await last.next((f) => f.type === 'pong');
  }, 120_000);

  it('a newer connection of the device on another gateway replaces the older one there', async () => {
    h = await startHarness({ limits: { heartbeatTimeoutMs: 3_600_000 } });
    const token = await h.login('alice', 'd1');
    const first = await TestClient.connect(h.gatewayUrls[0]!, token);
    h.time.advance(1);
    const second = await TestClient.connect(h.gatewayUrls[1]!, token);
    await first.until(() => first.closeCode, 5_000);
    expect(first.closeCode).toBe(CLOSE_CODES.REPLACED.code);
    expect(second.closeCode).toBeUndefined();
    // Another device of the same user is not touched.
    const other = await TestClient.connect(h.gatewayUrls[0]!, await h.login('alice', 'd2'));
    second.send({ type: 'ping' });
    await second.next((f) => f.type === 'pong');
    expect(other.closeCode).toBeUndefined();
    expect(second.closeCode).toBeUndefined();
  });
});

describe('presence only between mutual friends (issue 15, finding 5)', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('a friend request alone shows the requester nothing: no push, no query answer, until it is accepted', async () => {
    h = await startHarness({ limits: { heartbeatTimeoutMs: 3_600_000 } });
    const mallory = await h.connect('mallory');
    await h.login('alice');
    const asked = await h.api('POST', '/v1/friends', { user: 'alice' }, await h.login('mallory'));
    expect(asked.status).toBe(202);
    const alice = await h.connect('alice', { gateway: 1 });
    mallory.send({ type: 'presence_query', id: 'q1', users: ['alice'] });
    const result = await mallory.next((f) => f.type === 'presence_result' && f.ref === 'q1');
    expect(result.users).toEqual([]);
    expect(mallory.frames.filter((f) => f.type === 'presence')).toEqual([]);
    // Alice accepts: now both see each other.
    const accepted = await h.api('POST', '/v1/friends/requests/mallory/accept', undefined, await h.login('alice'));
    expect(accepted.status).toBe(200);
    mallory.send({ type: 'presence_query', id: 'q2', users: ['alice'] });
    const after = await mallory.next((f) => f.type === 'presence_result' && f.ref === 'q2');
    expect(after.users).toMatchObject([{ user: 'alice', online: true }]);
    expect(alice.closeCode).toBeUndefined();
  });
});

describe('ids that name Object.prototype members (issue 15, finding 7)', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('a watermark sync returns the messages of chats whose ids are __proto__ or constructor (written past the HTTP id rule)', async () => {
    h = await startHarness({ limits: { heartbeatTimeoutMs: 3_600_000 } });
    await h.login('alice');
    const { directory, store } = h.cluster.backends;
    for (const id of ['__proto__', 'constructor', 'toString']) {
      await directory.createChat({ id, kind: 'group', name: id, memberIds: ['alice'], createdAtMs: 0 });
      await store.append({ chatId: id, senderId: 'alice', senderDeviceId: 'd1', clientMsgId: `c-${id}`, body: id, msgId: `m-${id}`, sentAtMs: 1 });
    }
    const alice = await h.connect('alice');
    alice.send({ type: 'sync', id: 's1', chats: {} });
    const result = await alice.next((f) => f.type === 'sync_result' && f.ref === 's1');
    const byChat = new Map((result.chats as Array<{ chat: string; messages: unknown[] }>).map((c) => [c.chat, c.messages.length]));
    expect(byChat).toEqual(new Map([['__proto__', 1], ['constructor', 1], ['toString', 1]]));
  });
});
