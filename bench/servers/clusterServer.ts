// The reference cluster (server/Cluster.ts: gateways, chat servers, presence, HTTP API, the
// in-memory backends) alone in one process, for the benchmarks. Users, chats and tokens are
// made here directly (directory writes and TokenService.issue), so setting up 10,000 phones
// costs no password hashing; phones still authenticate at the gateway with signed tokens.
// argv[2]: JSON { gateways, chatServers, limits }.
import { Cluster } from '../../server/Cluster.ts';
import { CountingBroker } from '../../server/memory/CountingBroker.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import type { ServerLimits } from '../../server/protocol/limits.ts';
import { collectGarbage, serveParent } from '../lib/child.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as { gateways?: number; chatServers?: number; limits?: Partial<ServerLimits> };
const time = createSystemTime();
const broker = new CountingBroker(new MemoryBroker());
const cluster = new Cluster({ time, gateways: config.gateways ?? 1, chatServers: config.chatServers ?? 2, limits: config.limits ?? {}, backends: { broker }, port: 0 });
const address = await cluster.start();
const { directory } = cluster.backends;

async function user(id: string): Promise<string> {
  await directory.createUser({ id, name: id, passwordHash: 'bench:not-a-login' });
  return cluster.tokens.issue(id, 'd1').token;
}

serveParent({
  address: () => address,
  /** `count` users `<prefix><i>` with no chats; answers their tokens. */
  users: async ({ prefix, count }: { prefix: string; count: number }) => {
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) tokens.push(await user(`${prefix}${i}`));
    return tokens;
  },
  /** `pairs` direct chats between `<prefix>a<i>` and `<prefix>b<i>`. */
  directPairs: async ({ prefix, pairs }: { prefix: string; pairs: number }) => {
    const out: Array<{ chat: string; a: string; b: string }> = [];
    for (let i = 0; i < pairs; i++) {
      const [ua, ub] = [`${prefix}a${i}`, `${prefix}b${i}`];
      const a = await user(ua);
      const b = await user(ub);
      const chat = `d:${[ua, ub].sort().join(':')}`;
      await directory.createChat({ id: chat, kind: 'direct', name: '', memberIds: [ua, ub].sort(), createdAtMs: time.nowMs() });
      out.push({ chat, a, b });
    }
    return out;
  },
  /** One group of `members` users `<prefix><i>`; the first is the sender. */
  group: async ({ prefix, members }: { prefix: string; members: number }) => {
    const ids = Array.from({ length: members }, (_, i) => `${prefix}${i}`);
    const tokens: string[] = [];
    for (const id of ids) tokens.push(await user(id));
    const chat = `g:${prefix}`;
    await directory.createChat({ id: chat, kind: 'group', name: prefix, memberIds: ids, createdAtMs: time.nowMs() });
    return { chat, tokens };
  },
  stats: () => {
    let framesIn = 0;
    let framesOut = 0;
    let connections = 0;
    const closes: Record<string, number> = {};
    for (const g of cluster.gateways) {
      framesIn += g.stats.framesIn;
      framesOut += g.stats.framesOut;
      connections += g.stats.connections;
      for (const [code, n] of g.stats.closesByCode) closes[code] = (closes[code] ?? 0) + n;
    }
    const errors: Record<string, number> = {};
    let framesHandled = 0;
    for (const s of cluster.chatServers) {
      framesHandled += s.stats.framesHandled;
      for (const [code, n] of s.stats.errorsByCode) errors[code] = (errors[code] ?? 0) + n;
    }
    return { framesIn, framesOut, connections, closes, framesHandled, errors, publishes: Object.fromEntries(broker.publishesByChannel), totalPublishes: broker.totalPublishes };
  },
  resetBroker: () => {
    broker.reset();
    return true;
  },
  gc: () => collectGarbage(),
}, () => cluster.stop());
