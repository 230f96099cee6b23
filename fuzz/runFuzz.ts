// npm run fuzz [-- options]: the full fuzz suite. Starts `chatsim serve` and fuzzes it with
// frames and HTTP requests, then does a shorter run against the multi-process cluster (Redis of
// its own, Cassandra at 127.0.0.1:9042 or CHATSIM_CASSANDRA), prints the figures, writes
// reports/fuzz/<date>.json and exits 1 on any finding. docs/fuzz.md explains every check.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CASSANDRA } from '../server/cassandra/client.ts';
import { cassandraUnreachable } from '../test/contracts/helpers.ts';
import { mib, runFrameFuzz, type FrameFuzzReport } from './frameFuzz.ts';
import { runHttpFuzz, type HttpFuzzReport } from './httpFuzz.ts';
import { startProcessCluster, startServe, type FuzzTarget } from './targets.ts';

const HELP = `npm run fuzz -- [options]

  --frames N           generated frames against chatsim serve (default 200000)
  --connections N      fuzz connections (default 20)
  --http N             HTTP and upgrade requests per cluster (default 1200)
  --cluster-frames N   frames against the multi-process cluster (default 5000; 0 skips it)
  --seed N             the seed of every generator (default: random, printed)
  --help               this text

Exit 0 when every check passed, 1 on a finding or when a cluster could not start.`;

interface Options { frames: number; connections: number; http: number; clusterFrames: number; seed: number }

function parseArgs(argv: string[]): Options | string {
  const o: Options = { frames: 200_000, connections: 20, http: 1200, clusterFrames: 5_000, seed: Math.floor(Math.random() * 2 ** 31) };
  const keys: Record<string, keyof Options> = { '--frames': 'frames', '--connections': 'connections', '--http': 'http', '--cluster-frames': 'clusterFrames', '--seed': 'seed' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help') return HELP;
    const key = keys[arg];
    const n = Number(argv[++i]);
    if (!key || !Number.isInteger(n) || n < 0) return `unknown option or bad number: ${arg} ${argv[i] ?? ''}\n\n${HELP}`;
    o[key] = n;
  }
  return o;
}

interface Section { name: string; frame?: FrameFuzzReport; http?: HttpFuzzReport; error?: string }

async function against(name: string, start: () => Promise<FuzzTarget>, run: (t: FuzzTarget) => Promise<Omit<Section, 'name'>>): Promise<Section> {
  console.log(`\n== ${name}`);
  let target: FuzzTarget;
  try {
    target = await start();
  } catch (error) {
    return { name, error: `could not start: ${(error as Error).message}` };
  }
  try {
    return { name, ...(await run(target)) };
  } finally {
    await target.stop();
  }
}

function printFrame(r: FrameFuzzReport): void {
  const s = (ms: number): string => `${(ms / 1000).toFixed(0)} s`;
  console.log(`  frames: ${r.frames.sent.toLocaleString('en-US')} generated (${Object.entries(r.frames.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}), plus ${r.frames.floodFrames} flood pings and ${r.frames.prefill} prefill sends`);
  console.log(`  connections: ${r.connections.fuzz} fuzz (${r.connections.opened} opened with reconnects), ${r.connections.raw} raw, ${r.connections.flood} flood; ${s(r.durationMs)}`);
  console.log(`  answers: ${r.replies.frames.toLocaleString('en-US')} frames (${Object.entries(r.replies.byType).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  console.log(`  error codes: ${Object.entries(r.replies.errorsByCode).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  close codes: ${Object.entries(r.replies.closesByCode).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  health: ${r.health.polls} polls, ${r.health.slow} over 1 s (longest streak ${r.health.slowStreakMax}), slowest answered ${r.health.maxMs} ms`);
  console.log(`  bystander: ${r.bystander.sent} sent, ${r.bystander.acknowledged} acknowledged, ${r.bystander.delivered} delivered, ${r.bystander.lostCount} lost, closes: ${r.bystander.closed.join(', ') || 'none'}`);
  if (r.heap) console.log(`  heap after GC: ${mib(r.heap.setupBytes)} after the setup, ${mib(r.heap.baselineBytes)} after ${r.heap.warmUpFrames} warm-up frames -> ${mib(r.heap.finalBytes)} at the end (${r.heap.growthBytes >= 0 ? '+' : ''}${mib(r.heap.growthBytes)}, bound ${mib(r.heap.boundBytes)}); samples ${r.heap.samples.map((x) => mib(x.bytes)).join(', ')}`);
}

function printHttp(r: HttpFuzzReport): void {
  console.log(`  http: ${r.requests} requests (${Object.entries(r.byPort).map(([k, v]) => `${k} ${v}`).join(', ')}; ${r.upgrades} upgrades, ${r.incomplete} incomplete) in ${(r.durationMs / 1000).toFixed(0)} s`);
  console.log(`  statuses: ${Object.entries(r.statuses).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    console.log(parsed);
    return parsed === HELP ? 0 : 64;
  }
  const o = parsed;
  const startedAt = new Date();
  const load = { start: loadavg(), cores: cpus().length };
  console.log(`chatsim fuzz: seed ${o.seed}, ${o.frames} frames over ${o.connections} connections, ${o.http} HTTP requests per cluster, ${o.clusterFrames} frames on the multi-process cluster`);
  const log = (line: string): void => console.log(line);
  const sections: Section[] = [];
  sections.push(await against('chatsim serve: frames', () => startServe(), async (t) => ({ frame: await runFrameFuzz(t, { frames: o.frames, connections: o.connections, seed: o.seed, log }) })));
  sections.push(await against('chatsim serve: HTTP and upgrades', () => startServe(), async (t) => ({ http: await runHttpFuzz(t, { requests: o.http, seed: o.seed, log }) })));
  if (o.clusterFrames > 0) {
    const cassandra = process.env.CHATSIM_CASSANDRA ?? DEFAULT_CASSANDRA;
    const unreachable = await cassandraUnreachable(cassandra);
    if (unreachable) sections.push({ name: 'multi-process cluster', error: `no Cassandra at ${cassandra}: ${unreachable}` });
    else {
      sections.push(await against('multi-process cluster: frames and HTTP', () => startProcessCluster({ cassandra }), async (t) => ({
        frame: await runFrameFuzz(t, { frames: o.clusterFrames, connections: o.connections, seed: o.seed, userPrefix: 'mf', log }),
        http: await runHttpFuzz(t, { requests: o.http, seed: o.seed + 1, userPrefix: 'mh', log }),
      })));
    }
  }
  let failed = 0;
  for (const section of sections) {
    console.log(`\n== ${section.name}: ${section.error ? 'NOT RUN' : [section.frame, section.http].every((r) => !r || r.passed) ? 'passed' : 'FAILED'}`);
    if (section.error) {
      console.log(`  ${section.error}`);
      failed++;
    }
    for (const r of [section.frame, section.http]) {
      if (!r) continue;
      if ('frames' in r) printFrame(r);
      else printHttp(r);
      if (r.aborted) console.log(`  ABORTED: ${r.aborted}`);
      for (const f of r.findings) console.log(`  FINDING ${f.kind} x${f.count}: ${f.samples.join(' || ')}`);
      if (!r.passed) failed++;
    }
  }
  const out = join(fileURLToPath(new URL('..', import.meta.url)), 'reports', 'fuzz');
  await mkdir(out, { recursive: true });
  const file = join(out, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ startedAt: startedAt.toISOString(), options: o, load: { ...load, end: loadavg() }, sections }, null, 2));
  console.log(`\n${failed === 0 ? 'PASSED' : `FAILED (${failed} section${failed === 1 ? '' : 's'})`}; seed ${o.seed}; report ${file}`);
  return failed === 0 ? 0 : 1;
}

// Exit at once: a hung cluster's sockets or a stray timer must not keep the fuzz run alive.
process.exit(await main());
