// 1. Cluster throughput against the machine's ceiling: the reference cluster's WebSocket
// frames per second (and delivered messages per second with the full tick cycle) next to a
// raw `ws` echo server's frames per second, same machine, same run, same load generator.
import { startChild, type BenchChild } from './lib/child.ts';
import { figure, type BenchContext, type BenchOutcome, type Benchmark } from './lib/types.ts';
import { round, sleep } from './lib/util.ts';

interface Window {
  frames: number;
  seconds: number;
  serverCpuSeconds: number;
  loadCpuSeconds: number;
}

interface ServerStats { framesIn: number; framesOut: number; errors?: Record<string, number>; closes?: Record<string, number> }

export const PROFILES = {
  quick: { pairs: 100, seconds: 4, warmupSeconds: 1, rounds: 1 },
  full: { pairs: 200, seconds: 10, warmupSeconds: 2, rounds: 2 },
} as const;

/** In flight per echo connection, and messages in flight per chat pair: deep enough to saturate either server. */
export const WINDOW = 8;

/** Limits raised so the token bucket never refuses a benchmark frame (its code still runs on each). */
export const BENCH_LIMITS = { framesPerSecondMax: 1_000_000, framesBurstMax: 1_000_000 };

/** Samples server frames and both processes' CPU at the start and the end of the measured window. */
async function measure(server: BenchChild, load: BenchChild, seconds: number, drive: () => Promise<unknown>): Promise<{ window: Window; result: unknown }> {
  const s0 = await server.request<ServerStats>('stats');
  const [c0, l0, t0] = [server.sample().cpuSeconds, load.sample().cpuSeconds, performance.now()];
  const running = drive();
  await sleep(seconds * 1000);
  const s1 = await server.request<ServerStats>('stats');
  const [c1, l1, t1] = [server.sample().cpuSeconds, load.sample().cpuSeconds, performance.now()];
  const result = await running;
  return {
    window: { frames: s1.framesIn + s1.framesOut - s0.framesIn - s0.framesOut, seconds: (t1 - t0) / 1000, serverCpuSeconds: c1 - c0, loadCpuSeconds: l1 - l0 },
    result,
  };
}

export async function runEcho(ctx: BenchContext, connections: number, seconds: number, warmupSeconds: number, serverNodeArgs: string[] = []): Promise<Window> {
  const echo = await startChild('servers/echoServer.ts', { nodeArgs: serverNodeArgs });
  const load = await startChild('load/loadClient.ts');
  try {
    const { url } = await echo.request<{ url: string }>('address');
    const c = await load.request<{ connected: number }>('connect', { name: 'e', urls: [url], count: connections, hello: false }, 120_000);
    if (c.connected !== connections) throw new Error(`echo: ${c.connected} of ${connections} connected`);
    const echoArgs = { name: 'e', window: WINDOW, frameBytes: 120 };
    await load.request('echoLoad', { ...echoArgs, durationMs: warmupSeconds * 1000 }, 60_000);
    const { window } = await measure(echo, load, seconds, () => load.request('echoLoad', { ...echoArgs, durationMs: seconds * 1000 }, seconds * 1000 + 30_000));
    ctx.log(`  echo: ${Math.round(window.frames / window.seconds)} frames/s (server CPU ${round(window.serverCpuSeconds / window.seconds, 2)} cores, load ${round(window.loadCpuSeconds / window.seconds, 2)})`);
    return window;
  } finally {
    await load.stop();
    await echo.stop();
  }
}

export interface ClusterWindow extends Window {
  delivered: number;
  completed: number;
  errors: number;
  sendToReadMs: { p50: number; p99: number };
}

export async function runCluster(ctx: BenchContext, pairs: number, seconds: number, warmupSeconds: number, serverNodeArgs: string[] = []): Promise<ClusterWindow> {
  const cluster = await startChild('servers/clusterServer.ts', { args: [JSON.stringify({ gateways: 2, chatServers: 2, limits: BENCH_LIMITS })], nodeArgs: serverNodeArgs });
  const load = await startChild('load/loadClient.ts');
  try {
    const { gatewayUrls } = await cluster.request<{ gatewayUrls: string[] }>('address');
    const warm = await cluster.request<Array<{ chat: string; a: string; b: string }>>('directPairs', { prefix: 'w', pairs }, 120_000);
    const chats = await cluster.request<Array<{ chat: string; a: string; b: string }>>('directPairs', { prefix: 'p', pairs }, 120_000);
    // Pair p: connections 2p (A) and 2p+1 (B), on different gateways when there are two.
    const open = async (name: string, list: typeof chats): Promise<void> => {
      const tokens = list.flatMap((c) => [c.a, c.b]);
      const r = await load.request<{ connected: number }>('connect', { name, urls: gatewayUrls, tokens, count: tokens.length, hello: true }, 120_000);
      if (r.connected !== tokens.length) throw new Error(`cluster: ${r.connected} of ${tokens.length} connected`);
    };
    await open('w', warm);
    await load.request('chatLoad', { name: 'w', pairs: warm, durationMs: warmupSeconds * 1000, window: WINDOW, bodyBytes: 32 }, 60_000);
    await load.request('closeSet', { name: 'w' });
    await open('p', chats);
    const { window, result } = await measure(cluster, load, seconds, () => load.request('chatLoad', { name: 'p', pairs: chats, durationMs: seconds * 1000, window: WINDOW, bodyBytes: 32 }, seconds * 1000 + 30_000));
    const r = result as { deliveredAtEnd: number; completedAtEnd: number; errors: number; sendToReadMs: { p50: number; p99: number }; loadMs: number };
    const stats = await cluster.request<ServerStats>('stats');
    const errors = Object.values(stats.errors ?? {}).reduce((a, b) => a + b, 0) + r.errors;
    ctx.log(`  cluster: ${Math.round(window.frames / window.seconds)} frames/s, ${Math.round(r.deliveredAtEnd / (r.loadMs / 1000))} delivered msg/s (server CPU ${round(window.serverCpuSeconds / window.seconds, 2)} cores, load ${round(window.loadCpuSeconds / window.seconds, 2)}), errors ${errors}`);
    return { ...window, delivered: r.deliveredAtEnd / (r.loadMs / 1000) * window.seconds, completed: r.completedAtEnd / (r.loadMs / 1000) * window.seconds, errors, sendToReadMs: r.sendToReadMs };
  } finally {
    await load.stop();
    await cluster.stop();
  }
}

export const throughput: Benchmark = {
  name: 'throughput',
  title: 'Cluster throughput vs a raw ws echo server',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const p = PROFILES[ctx.profile];
    const echoes: Window[] = [];
    const clusters: ClusterWindow[] = [];
    for (let r = 0; r < p.rounds; r++) {
      echoes.push(await runEcho(ctx, p.pairs * 2, p.seconds, p.warmupSeconds));
      clusters.push(await runCluster(ctx, p.pairs, p.seconds, p.warmupSeconds));
    }
    // The best window of each: the one least disturbed by whatever else shares the machine.
    const best = <T extends Window>(list: T[]): T => list.reduce((a, b) => (b.frames / b.seconds > a.frames / a.seconds ? b : a));
    const echo = best(echoes);
    const cluster = best(clusters);
    const echoFps = echo.frames / echo.seconds;
    const clusterFps = cluster.frames / cluster.seconds;
    const perCpu = (w: Window): number => w.frames / w.serverCpuSeconds;
    return {
      method: `${p.pairs} pairs of phones (${p.pairs * 2} WebSockets, from one load process built on chatsim's WsClientTransport) against the cluster `
        + '(server/Cluster.ts in its own process: 2 gateways, 2 chat servers, presence, in-memory backends; the per-connection rate limit raised out of the way). '
        + 'In each pair A sends a 1:1 message (32-byte body), B renders it and sends ack and read, A\'s message is done at the read receipt (sent, delivered, read: '
        + `3 frames in, 4 out at the gateways) and A sends the next: ${WINDOW} messages in flight per pair. Frames = the gateways' framesIn + framesOut over the window. `
        + `The ceiling: a raw ws echo server (bench/servers/echoServer.ts, own process, echoes the bytes back undecoded) driven by the same load process over the same ${p.pairs * 2} `
        + `connections, ${WINDOW} 120-byte frames in flight per connection; frames = in + out. Each target gets ${p.warmupSeconds} s of warm-up then ${p.seconds} s measured; `
        + `${p.rounds} alternating round(s), the best window of each target kept. CPU per process from /proc/<pid>/stat over the window.`,
      figures: [
        figure({
          id: 'cluster-frames', label: 'cluster frames/s vs raw ws echo', ours: clusterFps, unit: 'frames/s', peer: echoFps, peerName: 'raw ws echo',
          ratio: clusterFps / echoFps, ratioMeaning: 'cluster frames/s / echo frames/s',
          goal: { op: '>=', value: 0.5, text: 'at least half the echo server\'s frames/s' },
          gate: { op: '>=', floor: 0.1, margin: 'a 2x drop from the ratio measured when the gate was set (about 0.2 in the quick profile)' },
        }),
        figure({
          id: 'cluster-frames-per-cpu', label: 'cluster frames per server CPU-s vs echo', ours: perCpu(cluster), unit: 'frames/CPU-s', peer: perCpu(echo), peerName: 'raw ws echo',
          ratio: perCpu(cluster) / perCpu(echo), ratioMeaning: 'cluster frames per CPU-second / echo frames per CPU-second (less sensitive to a busy machine)',
        }),
        figure({
          id: 'delivered-msgs', label: 'delivered msg/s, full tick cycle (1:1)', ours: cluster.delivered / cluster.seconds, unit: 'msg/s',
          note: `${Math.round(cluster.completed / cluster.seconds)} msg/s completed the read tick; send-to-read p50 ${round(cluster.sendToReadMs.p50, 1)} ms, p99 ${round(cluster.sendToReadMs.p99, 1)} ms; errors ${cluster.errors}`,
        }),
      ],
      details: { profile: p, echo: echoes, cluster: clusters },
    };
  },
};
