// 3. Gateway memory per idle connection: 10,000 authenticated phones' connections held open on
// one gateway of the cluster, against 10,000 connections to the raw ws server; RSS and JS heap +
// external delta per connection of the server process after a full GC. What a connection holds,
// object by object: bench/idleHeap.ts.
import { startChild, type BenchChild } from './lib/child.ts';
import { figure, type BenchContext, type BenchOutcome, type Benchmark } from './lib/types.ts';
import { round, sleep } from './lib/util.ts';

const PROFILES = { quick: { connections: 2000 }, full: { connections: 10_000 } } as const;

interface MemoryRun { connections: number; rssBeforeBytes: number; rssAfterBytes: number; heapBeforeBytes: number; heapAfterBytes: number; connectMs: number }

async function settledRss(server: BenchChild): Promise<{ rss: number; heap: number }> {
  await sleep(1000);
  const r = await server.request<{ collected: boolean; memory: NodeJS.MemoryUsage }>('gc');
  if (!r.collected) throw new Error('the server was not started with --expose-gc');
  await sleep(500);
  return { rss: server.sample().rssBytes, heap: r.memory.heapUsed + r.memory.external + r.memory.arrayBuffers };
}

async function measure(server: BenchChild, urls: string[], tokens: string[] | undefined, count: number, hello: boolean): Promise<MemoryRun> {
  const load = await startChild('load/loadClient.ts');
  try {
    const before = await settledRss(server);
    const c = await load.request<{ connected: number; failed: number; ms: number }>('connect', { name: 'idle', urls, tokens, count, hello, concurrency: 100, timeoutMs: 30_000 }, 300_000);
    if (c.connected !== count) throw new Error(`${c.connected} of ${count} connected (${c.failed} failed)`);
    await load.request('keepAlive');
    const after = await settledRss(server);
    const open = await load.request<number>('openCount', { name: 'idle' });
    if (open !== count) throw new Error(`only ${open} of ${count} connections still open at the measurement`);
    return { connections: count, rssBeforeBytes: before.rss, rssAfterBytes: after.rss, heapBeforeBytes: before.heap, heapAfterBytes: after.heap, connectMs: c.ms };
  } finally {
    await load.stop();
  }
}

export const idleMemory: Benchmark = {
  name: 'memory',
  title: 'Gateway memory per idle connection vs raw ws',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const { connections } = PROFILES[ctx.profile];
    const echo = await startChild('servers/echoServer.ts', { nodeArgs: ['--expose-gc'] });
    let raw: MemoryRun;
    try {
      const { url } = await echo.request<{ url: string }>('address');
      raw = await measure(echo, [url], undefined, connections, false);
    } finally {
      await echo.stop();
    }
    const cluster = await startChild('servers/clusterServer.ts', { args: [JSON.stringify({ gateways: 1, chatServers: 2 })], nodeArgs: ['--expose-gc'] });
    let ours: MemoryRun;
    try {
      const { gatewayUrls } = await cluster.request<{ gatewayUrls: string[] }>('address');
      // Users and tokens exist before the baseline: the figure is the connections' cost alone.
      const tokens = await cluster.request<string[]>('users', { prefix: 'idle', count: connections }, 300_000);
      ours = await measure(cluster, gatewayUrls, tokens, connections, true);
    } finally {
      await cluster.stop();
    }
    const per = (r: MemoryRun): number => (r.rssAfterBytes - r.rssBeforeBytes) / r.connections;
    const perHeap = (r: MemoryRun): number => (r.heapAfterBytes - r.heapBeforeBytes) / r.connections;
    ctx.log(`  cluster ${round(per(ours) / 1024, 1)} KiB per connection, raw ws ${round(per(raw) / 1024, 1)} KiB (${connections} connections)`);
    return {
      method: `${connections.toLocaleString('en-US')} idle WebSocket connections from a load process (bench/load/loadClient.ts) to one server process, started with --expose-gc. `
        + 'Ours: the cluster (server/Cluster.ts: 1 gateway holding every connection, 2 chat servers, presence, in-memory backends); each connection authenticated with its own '
        + 'signed token, greeted with hello, its presence entry written, pinging every 20 s. The users and tokens are made before the baseline. The peer: the raw ws echo server. '
        + 'Per connection = (RSS after - RSS before) / connections, each RSS read from /proc/<pid>/status 0.5 s after two full GCs; JS heap + external deltas are in the details.',
      figures: [figure({
        id: 'memory-per-connection', label: `server memory per idle connection (${connections.toLocaleString('en-US')})`, ours: per(ours) / 1024, unit: 'KiB',
        peer: per(raw) / 1024, peerName: 'raw ws server', ratio: per(ours) / per(raw), ratioMeaning: 'cluster RSS per connection / raw ws server RSS per connection (lower is better)',
        goal: { op: '<=', value: 1.5, text: 'at most 1.5x the raw ws server\'s bytes per connection' },
        // RSS deltas of a few MiB are noisy: on one commit the raw server's moved 3.0-8.8 KiB per
        // connection (its heap + external 2.6-2.9), and this ratio 1.36-3.96. The regression gate is
        // the heap + external ratio below; this one only catches native blow-ups (a compression
        // context per connection would be ~40x). docs/performance.md, CI gate.
        gate: { op: '<=', floor: 6, margin: 'native blow-ups only: the RSS ratio ran 1.36-3.96 on one commit (noise of the raw baseline)' },
        note: `JS heap + external per connection: cluster ${round(perHeap(ours) / 1024, 1)} KiB, raw ${round(perHeap(raw) / 1024, 1)} KiB`,
      }), figure({
        id: 'heap-per-connection', label: `JS heap + external per idle connection (${connections.toLocaleString('en-US')})`, ours: perHeap(ours) / 1024, unit: 'KiB',
        peer: perHeap(raw) / 1024, peerName: 'raw ws server', ratio: perHeap(ours) / perHeap(raw), ratioMeaning: 'cluster JS heap + external per connection / raw ws server\'s (lower is better)',
        // Measured 1.34-1.40 (3.8-4.0 KiB against 2.9); 3.3-3.5 before the fixes of 2026-12-07
        // (9.2-9.5 KiB), 2.3 before the hardening merges. Run-to-run noise is about 0.05.
        gate: { op: '<=', floor: 2, margin: 'measured 1.34-1.40, stable to about 0.05; the hardening\'s retained upgrade requests measured 3.3' },
      })],
      details: { cluster: ours, raw },
    };
  },
};
