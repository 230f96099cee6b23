// Issue 15, finding 4: a backlog bigger than the gateway's send buffer must still sync. 80
// messages of 16 KB (1.28 MB, more than sendBufferBytesMax) wait for bob while he is offline;
// his phone then connects over a shaped flaky-3g link (ShapedTransport over real WebSockets)
// to the in-process cluster on real time, and must render all 80. Before sync results were
// bounded in bytes, the one sync_result of ~1.3 MB passed the send buffer as it was written,
// the gateway cut the connection as a slow consumer, and the phone looped reconnecting.
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../server/Cluster.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { ShapedTransport } from '../../simulator/network/ShapedTransport.ts';
import { Phone } from '../../simulator/phone/Phone.ts';
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { builtinProfile } from '../../simulator/scenario/builtinProfiles.ts';
import { RecordingMetrics } from '../phone/fixtures.ts';
import { TestClient, type Frame } from '../support/TestClient.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';

const MESSAGES = 80;
const BODY_BYTES = 16_000;

describe('a backlog larger than the send buffer, synced over 3G', () => {
  let cluster: Cluster | undefined;
  let phone: Phone | undefined;
  let network: ShapedTransport | undefined;
  let alice: TestClient | undefined;
  afterEach(async () => {
    phone?.stop();
    network?.dispose();
    alice?.ws.terminate();
    await cluster?.stop();
  });

  it('80 messages of 16 KB sent while the phone was offline all arrive', async () => {
    const time = createSystemTime();
    // A short heartbeat, so a half-open episode of the 3G profile is noticed in seconds, not a minute.
    cluster = new Cluster({ time, gateways: 1, chatServers: 2, limits: { heartbeatIntervalMs: 2_000 } });
    const { httpUrl, gatewayUrls } = await cluster.start();
    const api = async (path: string, body: unknown, token?: string): Promise<any> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${httpUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      const text = await res.text();
      return text ? JSON.parse(text) : undefined;
    };
    for (const user of ['alice', 'bob']) await api('/v1/users', { id: user, password: `pw-${user}` });
    const aliceToken = (await api('/v1/login', { user: 'alice', password: 'pw-alice' })).token as string;
    const bobToken = (await api('/v1/login', { user: 'bob', password: 'pw-bob' })).token as string;
    // Chats take only friends (consent): alice asks, bob accepts.
    await api('/v1/friends', { user: 'bob' }, aliceToken);
    await api('/v1/friends', { user: 'alice' }, bobToken);
    const chat = (await api('/v1/chats', { kind: 'direct', members: ['bob'] }, aliceToken)).id as string;
    expect(chat, 'the direct chat was made').toMatch(/^d:/);

    // Bob is offline: alice sends the backlog, a few frames at a time (pendingFramesMax).
    alice = await TestClient.connect(gatewayUrls[0]!, aliceToken);
    const client = alice;
    for (let i = 0; i < MESSAGES; i += 10) {
      const batch = Array.from({ length: Math.min(10, MESSAGES - i) }, (_, k) => `m${i + k}`);
      for (const id of batch) client.send({ type: 'send', chat, clientMsgId: id, body: `${id} `.padEnd(BODY_BYTES, 'x') });
      for (const id of batch) await client.next((f: Frame) => f.type === 'sent' && f.ref === id, 10_000);
    }

    const events: HistoryEvent[] = [];
    network = new ShapedTransport({ inner: new WsClientTransport(), profile: builtinProfile('flaky-3g'), time, random: new SeededRandom(15), device: 'bob/d1' });
    phone = new Phone({
      user: 'bob', device: 'd1', token: bobToken, gatewayUrls, chats: [{ id: chat, kind: 'direct', members: ['alice', 'bob'] }],
      friends: [], driver: new ChatsimV1Driver(network), time, random: new SeededRandom(16), history: { record: (e) => events.push(e) },
      metrics: new RecordingMetrics(), startMs: time.nowMs(),
    });
    phone.start();
    const rendered = (): Set<number> => new Set(events.flatMap((e) => (e.type === 'render' && e.p === 'bob/d1' ? [e.seq] : [])));
    const deadline = Date.now() + 90_000;
    while (rendered().size < MESSAGES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));

    const connects = events.filter((e) => e.type === 'connect').length;
    expect(rendered().size, `rendered ${rendered().size} of ${MESSAGES} after ${connects} connects`).toBe(MESSAGES);
    expect([...rendered()].sort((a, b) => a - b)).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
    // It came page by page: 1.28 MB in pages of at most syncResultBytesMax (256 KiB) is at least 5.
    const pages = events.filter((e) => e.type === 'ok' && e.op === 'sync' && e.messages > 0).length;
    expect(pages).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
