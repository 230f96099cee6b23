/**
 * The message store's bugs (no-dedupe, read-rewrites-message) are store wrappers
 * (server/bugs/), so they hold on any store: here on the multi-process cluster over Redis and
 * Cassandra. First at the protocol level (one gateway and one chat server process, the store in
 * a fresh Cassandra keyspace), then, under CI (or CHATSIM_FULL_SCENARIOS=1), the checkers catch
 * each on its catalogue scenario run multi-process. Skipped with the reason when Cassandra is
 * unreachable; with CI=true that is a failure (CI starts the node).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUG_CATALOGUE } from '../../server/bugs/BugCatalogue.ts';
import { DEFAULT_CASSANDRA } from '../../server/cassandra/client.ts';
import { ProcessCluster } from '../../server/process/ProcessCluster.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { cassandraUnreachable } from '../contracts/helpers.ts';
import { withHeavyRunLock } from '../support/heavyRunLock.ts';
import { TestClient, type Frame } from '../support/TestClient.ts';

const contactPoint = process.env.CHATSIM_CASSANDRA ?? DEFAULT_CASSANDRA;
const inCi = process.env.CI === 'true';
const fullScenarios = process.env.CHATSIM_FULL_SCENARIOS === '1' || Boolean(process.env.CI);
const STORE_BUGS = ['no-dedupe', 'read-rewrites-message'] as const;

const unreachable = await cassandraUnreachable(contactPoint);
const skipped = unreachable ? ` (skipped: no Cassandra at ${contactPoint}: ${unreachable})` : '';

describe.skipIf(unreachable !== undefined && !inCi)(`store bugs on the multi-process Redis + Cassandra cluster${skipped}`, () => {
  let cluster: ProcessCluster;
  let httpUrl: string;
  let gatewayUrl: string;

  beforeAll(async () => {
    if (unreachable) throw new Error(`CI must provide Cassandra at ${contactPoint}: ${unreachable}`);
    cluster = new ProcessCluster({ time: createSystemTime(), gateways: 1, chatServers: 1, redis: 'local', cassandra: contactPoint, bugs: [...STORE_BUGS] });
    const address = await cluster.start();
    httpUrl = address.httpUrl;
    gatewayUrl = address.gatewayUrls[0]!;
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  async function api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${httpUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function login(user: string): Promise<string> {
    const created = await api('POST', '/v1/users', { id: user, name: user, password: `pw-${user}` });
    if (created.status !== 201 && created.status !== 409) throw new Error(`register ${user}: ${created.status}`);
    const res = await api('POST', '/v1/login', { user, password: `pw-${user}`, device: 'd1' });
    if (res.status !== 200) throw new Error(`login ${user}: ${res.status}`);
    return res.body.token as string;
  }

  /** Alice and bob, friends with a direct chat, both connected. */
  async function directChat(a: string, b: string): Promise<{ chat: string; alice: TestClient; bob: TestClient }> {
    const aliceToken = await login(a);
    const bobToken = await login(b);
    await api('POST', '/v1/friends', { user: b }, aliceToken);
    expect((await api('POST', `/v1/friends/requests/${a}/accept`, undefined, bobToken)).status).toBe(200);
    const chat = (await api('POST', '/v1/chats', { kind: 'direct', members: [b] }, aliceToken)).body.id as string;
    return { chat, alice: await TestClient.connect(gatewayUrl, aliceToken), bob: await TestClient.connect(gatewayUrl, bobToken) };
  }

  async function send(client: TestClient, chat: string, clientMsgId: string, body: string): Promise<Frame> {
    const already = client.ofType('sent').length;
    client.send({ type: 'send', chat, clientMsgId, body });
    return client.until(() => client.ofType('sent').slice(already).find((f) => f.ref === clientMsgId), 15_000);
  }

  async function syncAll(client: TestClient, chat: string): Promise<Array<Record<string, unknown>>> {
    const id = `sync-${client.frames.length}`;
    client.send({ type: 'sync', id, chats: { [chat]: 0 } });
    const result = await client.next((f) => f.type === 'sync_result' && f.ref === id, 15_000);
    return (result.chats as Array<{ chat: string; messages: Array<Record<string, unknown>> }>).find((c) => c.chat === chat)?.messages ?? [];
  }

  it('no-dedupe: a retried clientMsgId is stored in Cassandra again under a new seq, and reads back with the id the client sent', async () => {
    const { chat, alice, bob } = await directChat('nd-alice', 'nd-bob');
    const first = await send(alice, chat, 'retry-me', 'hello');
    const again = await send(alice, chat, 'retry-me', 'hello');
    expect([first.seq, again.seq]).toEqual([1, 2]);
    const synced = await syncAll(bob, chat);
    expect(synced.map((m) => [m.seq, m.clientMsgId])).toEqual([[1, 'retry-me'], [2, 'retry-me']]);
    alice.close();
    bob.close();
  }, 60_000);

  it('read-rewrites-message: a read moves no read cursor (no read tick) and rewrites the body synced from the chat server', async () => {
    const { chat, alice, bob } = await directChat('rr-alice', 'rr-bob');
    await send(alice, chat, 'm1', 'read me');
    await bob.next((f) => f.type === 'message' && f.chat === chat, 15_000);
    bob.send({ type: 'read', chat, upTo: 1 });
    await alice.until(() => alice.ofType('receipt').find((f) => f.kind === 'delivered' && f.upTo === 1), 15_000);
    const synced = await syncAll(bob, chat);
    expect(synced.map((m) => m.body)).toEqual(['read me [read by rr-bob]']);
    expect(alice.ofType('receipt').filter((f) => f.kind === 'read')).toEqual([]);
    alice.close();
    bob.close();
  }, 60_000);
});

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const bugsDir = new URL('../../scenarios/bugs/', import.meta.url).pathname;

async function runBugScenario(bug: string): Promise<{ code: number; stderr: string; summary: any }> {
  const out = mkdtempSync(join(tmpdir(), `chatsim-store-bug-${bug}-`));
  const args = [bin, 'run', join(bugsDir, `${bug}.yaml`), '--dir', out, '--json', '--checks', 'all', '--inject-bug', bug, '--processes', 'multi', '--cassandra', contactPoint];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  let summary: any;
  try {
    summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  } catch {
    summary = undefined;
  }
  return { code: code as number, stderr, summary };
}

describe.runIf(fullScenarios)('the checkers catch each store bug on the multi-process Redis + Cassandra cluster', () => {
  for (const bug of STORE_BUGS) {
    const breaks = BUG_CATALOGUE.find((b) => b.name === bug)!.breaks[0]!;
    it(`${bug}: its scenario, --processes multi, fails ${breaks} (exit 1)`, async () => {
      const r = await withHeavyRunLock(() => runBugScenario(bug));
      const failing = (r.summary?.properties ?? []).filter((p: any) => p.verdict === 'fail').map((p: any) => `${p.id}: ${p.examples.slice(0, 2).join('; ')}`);
      expect(r.code, `${failing.join('\n')}\n${r.stderr.slice(-2000)}`).toBe(1);
      const expected = r.summary.properties.find((p: any) => p.id === breaks);
      expect(expected?.verdict, failing.join('\n')).toBe('fail');
      expect(expected.examples.length).toBeGreaterThan(0);
    }, 6 * 60_000);
  }
});
