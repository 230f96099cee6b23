// 2. Load generator efficiency against Artillery: frames per CPU-second of the generator
// process driving the same raw ws echo target, and memory per connected phone (per VU).
// Artillery is installed at bench time into .bench-cache/artillery (never a project
// dependency); if it cannot be installed or run, the figures say so and ours still stand.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_DIR, startChild, type BenchChild } from './lib/child.ts';
import { TreeMonitor } from './lib/proc.ts';
import { figure, type BenchContext, type BenchOutcome, type Benchmark, type Figure } from './lib/types.ts';
import { round } from './lib/util.ts';
import { BENCH_LIMITS } from './throughput.ts';

/** The last 2.x release whose engines field accepts Node 20 (2.0.22 and later ask for Node >= 22.13). */
export const ARTILLERY_VERSION = '2.0.21';
const CACHE = join(REPO_DIR, '.bench-cache');
const ARTILLERY_DIR = join(CACHE, 'artillery');
const ARTILLERY_BIN = join(ARTILLERY_DIR, 'node_modules', '.bin', 'artillery');
/** No telemetry or update checks: this machine reaches nothing but loopback and the registry. */
const ARTILLERY_ENV = { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: '1', PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' };

const PROFILES = {
  quick: { vus: 50, loops: 400, oursSeconds: 3, holders: 300, holdSeconds: 6 },
  full: { vus: 100, loops: 2000, oursSeconds: 8, holders: 2000, holdSeconds: 12 },
} as const;

const FRAME = JSON.stringify({ type: 'echo', pad: 'x'.repeat(95) }); // 120 bytes, as in the throughput benchmark
const run = promisify(execFile);

async function ensureArtillery(log: (line: string) => void): Promise<string | undefined> {
  const works = async (): Promise<boolean> => {
    if (!existsSync(ARTILLERY_BIN)) return false;
    try {
      const { stdout } = await run(ARTILLERY_BIN, ['version'], { env: ARTILLERY_ENV, timeout: 60_000 });
      return stdout.includes(ARTILLERY_VERSION);
    } catch {
      return false;
    }
  };
  if (await works()) return undefined;
  log(`  installing artillery@${ARTILLERY_VERSION} into .bench-cache/artillery (once; about a minute)`);
  await mkdir(ARTILLERY_DIR, { recursive: true });
  if (!existsSync(join(ARTILLERY_DIR, 'package.json'))) await writeFile(join(ARTILLERY_DIR, 'package.json'), '{"name":"bench-artillery","private":true}\n');
  try {
    // --ignore-scripts: a dependency's postinstall downloads a browser, which this machine cannot reach.
    await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', `artillery@${ARTILLERY_VERSION}`], { cwd: ARTILLERY_DIR, env: ARTILLERY_ENV, timeout: 600_000 });
  } catch (error) {
    return `Artillery could not be installed (npm install artillery@${ARTILLERY_VERSION}): ${String((error as Error).message).split('\n').slice(0, 3).join(' ')}`;
  }
  return (await works()) ? undefined : `Artillery ${ARTILLERY_VERSION} was installed but \`artillery version\` does not run on Node ${process.version}`;
}

interface ArtilleryRun { cpuSeconds: number; peakRssBytes: number; wallSeconds: number; frames: number; exitCode: number | null }

/** One `artillery run` against the echo server; CPU from /usr/bin/time (the whole process tree), peak RSS summed over the tree. */
async function runArtillery(echo: BenchChild, url: string, name: string, scenario: { vus: number; flow: unknown[] }): Promise<ArtilleryRun> {
  const dir = join(CACHE, 'tmp');
  await mkdir(dir, { recursive: true });
  const script = join(dir, `${name}.json`);
  await writeFile(script, JSON.stringify({
    config: { target: url, phases: [{ duration: 1, arrivalCount: scenario.vus }], ws: { subprotocols: ['chatsim.v1'] } },
    scenarios: [{ engine: 'ws', flow: scenario.flow }],
  }, null, 2));
  const timeFile = join(dir, `${name}.time`);
  const s0 = await echo.request<{ framesIn: number; framesOut: number }>('stats');
  const t0 = performance.now();
  const useTime = existsSync('/usr/bin/time');
  const child = useTime
    ? spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, ARTILLERY_BIN, 'run', script], { cwd: dir, env: ARTILLERY_ENV, stdio: ['ignore', 'ignore', 'ignore'] })
    : spawn(ARTILLERY_BIN, ['run', script], { cwd: dir, env: ARTILLERY_ENV, stdio: ['ignore', 'ignore', 'ignore'] });
  const monitor = new TreeMonitor(child.pid!, 100);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`artillery run ${name} took longer than 5 minutes`)); }, 300_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  const tree = monitor.stop();
  const s1 = await echo.request<{ framesIn: number; framesOut: number }>('stats');
  let cpuSeconds = tree.cpuSeconds;
  if (useTime) {
    const [user, sys] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
    if (Number.isFinite(user) && Number.isFinite(sys)) cpuSeconds = user! + sys!;
  }
  return { cpuSeconds, peakRssBytes: tree.peakRssBytes, wallSeconds, frames: s1.framesIn + s1.framesOut - s0.framesIn - s0.framesOut, exitCode };
}

export const generator: Benchmark = {
  name: 'generator',
  title: 'Load generator efficiency vs Artillery',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const p = PROFILES[ctx.profile];
    const notes: string[] = [];
    const details: Record<string, unknown> = { profile: p, artilleryVersion: ARTILLERY_VERSION };
    const problem = await ensureArtillery(ctx.log);
    if (problem) notes.push(`${problem}; the Artillery side of this benchmark was not measured`);

    // Frames per CPU-second, both generators against the same echo server.
    const echo = await startChild('servers/echoServer.ts');
    let ours: { frames: number; cpuSeconds: number };
    let artillery: { frames: number; cpuSeconds: number } | undefined;
    let artilleryMemory: { perVuBytes: number; small: ArtilleryRun; big: ArtilleryRun } | undefined;
    try {
      const { url } = await echo.request<{ url: string }>('address');
      const load = await startChild('load/loadClient.ts');
      try {
        const s0 = await echo.request<{ framesIn: number; framesOut: number }>('stats');
        const c0 = load.sample().cpuSeconds;
        await load.request('connect', { name: 'g', urls: [url], count: p.vus, hello: false }, 60_000);
        await load.request('echoLoad', { name: 'g', window: 1, frameBytes: FRAME.length, durationMs: p.oursSeconds * 1000 }, p.oursSeconds * 1000 + 30_000);
        await load.request('closeSet', { name: 'g' });
        const c1 = load.sample().cpuSeconds;
        const s1 = await echo.request<{ framesIn: number; framesOut: number }>('stats');
        ours = { frames: s1.framesIn + s1.framesOut - s0.framesIn - s0.framesOut, cpuSeconds: c1 - c0 };
      } finally {
        await load.stop();
      }
      ctx.log(`  ours: ${Math.round(ours.frames / ours.cpuSeconds)} frames per CPU-s`);
      if (!problem) {
        const loop = (count: number): unknown[] => [{ loop: [{ send: { payload: FRAME, match: { json: '$.type', value: 'echo' } } }], count }];
        // Differential: a 1-VU, 1-frame run measures Artillery's start-up and shut-down, which are subtracted.
        const small = await runArtillery(echo, url, 'artillery-small', { vus: 1, flow: loop(1) });
        const big = await runArtillery(echo, url, 'artillery-big', { vus: p.vus, flow: loop(p.loops) });
        details.artilleryFrames = { small, big };
        if (big.exitCode !== 0) notes.push(`artillery run exited ${big.exitCode}`);
        artillery = { frames: big.frames - small.frames, cpuSeconds: big.cpuSeconds - small.cpuSeconds };
        ctx.log(`  artillery: ${Math.round(artillery.frames / artillery.cpuSeconds)} frames per CPU-s (${big.frames} frames, ${round(big.cpuSeconds, 2)} CPU-s; start-up ${round(small.cpuSeconds, 2)} CPU-s)`);
        // Memory per connected VU: VUs that connect and hold the socket, few against many.
        const hold = [{ think: p.holdSeconds }];
        const fewVus = 10;
        const memSmall = await runArtillery(echo, url, 'artillery-hold-small', { vus: fewVus, flow: hold });
        const memBig = await runArtillery(echo, url, 'artillery-hold-big', { vus: p.holders, flow: hold });
        artilleryMemory = { perVuBytes: (memBig.peakRssBytes - memSmall.peakRssBytes) / (p.holders - fewVus), small: memSmall, big: memBig };
        ctx.log(`  artillery: ${Math.round(artilleryMemory.perVuBytes / 1024)} KiB per connected VU`);
      }
    } finally {
      await echo.stop();
    }

    // Memory per connected phone: real phones, idle, against the cluster.
    const cluster = await startChild('servers/clusterServer.ts', { args: [JSON.stringify({ gateways: 2, chatServers: 2, limits: BENCH_LIMITS })] });
    const holder = await startChild('load/phoneHolder.ts');
    let phoneBytes: number;
    try {
      const { gatewayUrls } = await cluster.request<{ gatewayUrls: string[] }>('address');
      const tokens = await cluster.request<string[]>('users', { prefix: 'h', count: p.holders }, 120_000);
      const r = await holder.request<{ phones: number; ready: number; rssBeforeBytes: number; rssAfterBytes: number }>('start', { tokens: tokens.map((token, i) => ({ user: `h${i}`, token })), gatewayUrls }, 180_000);
      if (r.ready !== r.phones) notes.push(`only ${r.ready} of ${r.phones} phones became ready`);
      phoneBytes = (r.rssAfterBytes - r.rssBeforeBytes) / r.ready;
      details.phones = r;
      ctx.log(`  ours: ${Math.round(phoneBytes / 1024)} KiB per connected phone (${r.ready} phones)`);
    } finally {
      await holder.stop();
      await cluster.stop();
    }

    const oursFpc = ours.frames / ours.cpuSeconds;
    const artFpc = artillery ? artillery.frames / artillery.cpuSeconds : undefined;
    details.ours = ours;
    details.artillery = artillery;
    const figures: Figure[] = [
      figure({
        id: 'generator-frames-per-cpu', label: 'generator frames per CPU-s vs Artillery', ours: oursFpc, unit: 'frames/CPU-s',
        ...(artFpc !== undefined ? { peer: artFpc, peerName: `Artillery ${ARTILLERY_VERSION} ws`, ratio: oursFpc / artFpc } : { note: 'Artillery not measured (see notes)' }),
        ratioMeaning: 'our frames per generator CPU-second / Artillery\'s',
        goal: { op: '>=', value: 2, text: 'at least 2x Artillery\'s frames per CPU-second' },
        ...(artFpc !== undefined ? { gate: { op: '>=' as const, floor: 1, margin: 'half the goal: the ratio was well above 2 when the gate was set' } } : {}),
      }),
      figure({
        id: 'generator-memory-per-phone', label: 'generator memory per connected phone vs Artillery VU', ours: phoneBytes / 1024, unit: 'KiB',
        ...(artilleryMemory ? { peer: artilleryMemory.perVuBytes / 1024, peerName: 'Artillery VU', ratio: phoneBytes / artilleryMemory.perVuBytes } : {}),
        ratioMeaning: 'our RSS per connected phone / Artillery\'s RSS per connected VU (lower is better)',
      }),
    ];
    return {
      method: `Frames per CPU-second: both generators drive the raw ws echo server (own process) over ${p.vus} connections, each a closed loop of one 120-byte frame `
        + 'in flight (send, wait for the echo, send again). Ours: bench/load/loadClient.ts (chatsim\'s WsClientTransport), its process CPU from /proc from before the '
        + `connects to after the closes, for ${p.oursSeconds} s of load. Artillery ${ARTILLERY_VERSION} (the last 2.x that runs on Node 20; installed into .bench-cache/artillery): `
        + `a ws scenario of ${p.vus} VUs arriving in 1 s, each looping ${p.loops} times over send-with-match (waits for the echo); its CPU over the whole process tree (/usr/bin/time), `
        + 'less a 1-VU 1-frame run (start-up and shut-down). Frames = the echo server\'s frames in + out over each run. '
        + `Memory: ${p.holders} real phones (simulator/phone/Phone.ts over WsClientTransport, bench/load/phoneHolder.ts) connected, synced and idle against the cluster; `
        + 'RSS of their process after minus before, per phone, no forced GC. Artillery: the summed peak RSS of its process tree with '
        + `${p.holders} VUs that connect to the echo server and think ${p.holdSeconds} s, less the same with 10 VUs, per VU.`,
      figures,
      details,
      notes,
    };
  },
};
