// 1. Cluster throughput against the machine's ceiling: the reference cluster's WebSocket
// frames per second (and delivered messages per second with the full tick cycle) next to a
// raw `ws` echo server's frames per second, same machine, same run, same load generator.
import { startChild, type BenchChild } from './lib/child.ts';
import { figure, type BenchContext, type BenchOutcome, type Benchmark } from './lib/types.ts';
import { median, round, sleep } from './lib/util.ts';

interface Window {
  frames: number;
  seconds: number;
  serverCpuSeconds: number;
  loadCpuSeconds: number;
}

/** The cluster/echo frames ratio below which --gate fails, and why (set from the ratios measured on this machine). */
const GATE_FLOOR = 0.1;
const GATE_MARGIN = 'a large regression only: about half the lowest per-round ratio before the profile-guided pass (0.16-0.19), a quarter of the ratio after it (0.3-0.5)';

interface ServerStats { framesIn: number; framesOut: number; errors?: Record<string, number>; closes?: Record<string, number> }

export const PROFILES = {
  quick: { pairs: 100, seconds: 2, warmupSeconds: 1, rounds: 4 },
  full: { pairs: 200, seconds: 3, warmupSeconds: 2, rounds: 8 },
} as const;

/** In flight per echo connection, and messages in flight per chat pair: deep enough to saturate either server. */
export const WINDOW = 8;

/** Limits raised so the token bucket never refuses a benchmark frame (its code still runs on each). */
export const BENCH_LIMITS = { framesPerSecondMax: 1_000_000, framesBurstMax: 1_000_000 };

interface Pair { chat: string; a: string; b: string }

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

export interface ClusterWindow extends Window {
  delivered: number;
  completed: number;
  errors: number;
  sendToReadMs: { p50: number; p99: number };
}

/**
 * Both targets up at once (an idle server costs nothing), one load process holding a set of
 * connections to each; then short windows alternate echo, cluster, echo, cluster... so that
 * each ratio compares two moments seconds apart, whatever the neighbours do meanwhile.
 */
export async function runSideBySide(ctx: BenchContext, p: { pairs: number; seconds: number; warmupSeconds: number; rounds: number }, options: { clusterNodeArgs?: string[]; echo?: boolean } = {}): Promise<{ echo: Window[]; cluster: ClusterWindow[] }> {
  const withEcho = options.echo ?? true;
  const echo = withEcho ? await startChild('servers/echoServer.ts') : undefined;
  const cluster = await startChild('servers/clusterServer.ts', { args: [JSON.stringify({ gateways: 2, chatServers: 2, limits: BENCH_LIMITS })], nodeArgs: options.clusterNodeArgs ?? [] });
  const load = await startChild('load/loadClient.ts');
  const echoes: Window[] = [];
  const clusters: ClusterWindow[] = [];
  try {
    const connections = p.pairs * 2;
    const { gatewayUrls } = await cluster.request<{ gatewayUrls: string[] }>('address');
    const chats = await cluster.request<Pair[]>('directPairs', { prefix: 'p', pairs: p.pairs }, 120_000);
    // Pair i: connections 2i (A) and 2i+1 (B), on different gateways.
    const tokens = chats.flatMap((c) => [c.a, c.b]);
    const c = await load.request<{ connected: number }>('connect', { name: 'chat', urls: gatewayUrls, tokens, count: tokens.length, hello: true }, 120_000);
    if (c.connected !== tokens.length) throw new Error(`cluster: ${c.connected} of ${tokens.length} connected`);
    const echoArgs = { name: 'echo', window: WINDOW, frameBytes: 120 };
    const chatArgs = { name: 'chat', pairs: chats, window: WINDOW, bodyBytes: 32 };
    if (echo) {
      const { url } = await echo.request<{ url: string }>('address');
      const e = await load.request<{ connected: number }>('connect', { name: 'echo', urls: [url], count: connections, hello: false }, 120_000);
      if (e.connected !== connections) throw new Error(`echo: ${e.connected} of ${connections} connected`);
      await load.request('echoLoad', { ...echoArgs, durationMs: p.warmupSeconds * 1000 }, 60_000);
    }
    await load.request('chatLoad', { ...chatArgs, durationMs: p.warmupSeconds * 1000 }, 60_000);
    for (let r = 0; r < p.rounds; r++) {
      if (echo) {
        const { window } = await measure(echo, load, p.seconds, () => load.request('echoLoad', { ...echoArgs, durationMs: p.seconds * 1000 }, p.seconds * 1000 + 30_000));
        echoes.push(window);
      }
      const { window, result } = await measure(cluster, load, p.seconds, () => load.request('chatLoad', { ...chatArgs, durationMs: p.seconds * 1000 }, p.seconds * 1000 + 30_000));
      const m = result as { deliveredAtEnd: number; completedAtEnd: number; errors: number; sendToReadMs: { p50: number; p99: number }; loadMs: number };
      const scale = window.seconds / (m.loadMs / 1000);
      clusters.push({ ...window, delivered: m.deliveredAtEnd * scale, completed: m.completedAtEnd * scale, errors: m.errors, sendToReadMs: m.sendToReadMs });
      const e = echoes[echoes.length - 1];
      ctx.log(`  round ${r + 1}: ${e ? `echo ${Math.round(e.frames / e.seconds)} frames/s (${round(e.serverCpuSeconds / e.seconds, 2)} cores), ` : ''}cluster ${Math.round(window.frames / window.seconds)} frames/s (${round(window.serverCpuSeconds / window.seconds, 2)} cores), ${Math.round(m.deliveredAtEnd / (m.loadMs / 1000))} delivered msg/s`);
    }
    const stats = await cluster.request<ServerStats>('stats');
    const serverErrors = Object.values(stats.errors ?? {}).reduce((a, b) => a + b, 0);
    if (serverErrors > 0) ctx.log(`  cluster errors: ${JSON.stringify(stats.errors)}`);
    return { echo: echoes, cluster: clusters };
  } finally {
    await load.stop();
    await cluster.stop();
    await echo?.stop();
  }
}

export const throughput: Benchmark = {
  name: 'throughput',
  title: 'Cluster throughput vs a raw ws echo server',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const p = PROFILES[ctx.profile];
    const { echo, cluster } = await runSideBySide(ctx, p);
    const fps = (w: Window): number => w.frames / w.seconds;
    const perCpu = (w: Window): number => w.frames / w.serverCpuSeconds;
    const ratios = cluster.map((c, i) => fps(c) / fps(echo[i]!));
    const cpuRatios = cluster.map((c, i) => perCpu(c) / perCpu(echo[i]!));
    const delivered = median(cluster.map((c) => c.delivered / c.seconds));
    const completed = median(cluster.map((c) => c.completed / c.seconds));
    const last = cluster[cluster.length - 1]!;
    return {
      method: `${p.pairs} pairs of phones (${p.pairs * 2} WebSockets, from one load process built on chatsim's WsClientTransport) against the cluster `
        + '(server/Cluster.ts in its own process: 2 gateways, 2 chat servers, presence, in-memory backends; the per-connection rate limit raised out of the way). '
        + 'In each pair A sends a 1:1 message (32-byte body), B renders it and sends ack and read, A\'s message is done at the read receipt (sent, delivered, read: '
        + `3 frames in, 4 out at the gateways) and A sends the next: ${WINDOW} messages in flight per pair. Frames = the gateways' framesIn + framesOut over the window. `
        + `The ceiling: a raw ws echo server (bench/servers/echoServer.ts, own process, echoes the bytes back undecoded) driven by the same load process over ${p.pairs * 2} `
        + `connections of its own, ${WINDOW} 120-byte frames in flight per connection; frames = in + out. Both servers run at once; after ${p.warmupSeconds} s of warm-up each, `
        + `${p.rounds} rounds alternate a ${p.seconds} s echo window and a ${p.seconds} s cluster window; each round gives a ratio, and the figures are the medians over the rounds. `
        + 'CPU per process from /proc/<pid>/stat over each window.',
      figures: [
        figure({
          id: 'cluster-frames', label: 'cluster frames/s vs raw ws echo', ours: median(cluster.map(fps)), unit: 'frames/s', peer: median(echo.map(fps)), peerName: 'raw ws echo',
          ratio: median(ratios), ratioMeaning: 'median over rounds of cluster frames/s / echo frames/s',
          goal: { op: '>=', value: 0.5, text: 'at least half the echo server\'s frames/s' },
          gate: { op: '>=', floor: GATE_FLOOR, margin: GATE_MARGIN },
          note: `per-round ratios ${ratios.map((r) => round(r, 3)).join(', ')}`,
        }),
        figure({
          id: 'cluster-frames-per-cpu', label: 'cluster frames per server CPU-s vs echo', ours: median(cluster.map(perCpu)), unit: 'frames/CPU-s', peer: median(echo.map(perCpu)), peerName: 'raw ws echo',
          ratio: median(cpuRatios), ratioMeaning: 'median over rounds of cluster frames per CPU-second / echo frames per CPU-second (less sensitive to a busy machine)',
        }),
        figure({
          id: 'delivered-msgs', label: 'delivered msg/s, full tick cycle (1:1)', ours: delivered, unit: 'msg/s',
          note: `${Math.round(completed)} msg/s completed the read tick (medians); last round send-to-read p50 ${round(last.sendToReadMs.p50, 1)} ms, p99 ${round(last.sendToReadMs.p99, 1)} ms; client-seen errors ${cluster.reduce((n, c) => n + c.errors, 0)}`,
        }),
      ],
      details: { profile: p, window: WINDOW, echo, cluster },
    };
  },
};
