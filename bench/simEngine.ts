// 5. The simulation engine: simulated seconds per real second and history events per second,
// from `chatsim run scenarios/flaky-mobile.yaml --engine sim` as a user runs it (own process).
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { REPO_DIR } from './lib/child.ts';
import { TreeMonitor } from './lib/proc.ts';
import { figure, type BenchContext, type BenchOutcome, type Benchmark, type Figure } from './lib/types.ts';
import { round } from './lib/util.ts';

interface SimCase { label: string; args: string[]; timeoutMs: number }

const PROFILES: Record<'quick' | 'full', SimCase[]> = {
  quick: [{ label: '300 phones, 20 s', args: ['--phones', '300', '--duration', '20s'], timeoutMs: 180_000 }],
  full: [
    { label: '2,026 phones (as shipped, 60 s)', args: [], timeoutMs: 600_000 },
    // The 10-simulated-minute run takes ~10 minutes; 2 minutes keep the full profile bounded.
    { label: '10,000 phones, 2 min', args: ['--phones', '10000', '--duration', '2m'], timeoutMs: 900_000 },
  ],
};

async function countLines(gzPath: string): Promise<number> {
  let n = 0;
  const lines = createInterface({ input: createReadStream(gzPath).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of lines) if (line.length > 0) n++;
  return n;
}

async function runCase(ctx: BenchContext, c: SimCase): Promise<{ phones: number; simulatedSeconds: number; wallSeconds: number; events: number; peakRssBytes: number; cpuSeconds: number; verdict: string; exitCode: number | null }> {
  const out = await mkdtemp(join(REPO_DIR, '.bench-cache', 'sim-'));
  try {
    const args = ['--max-old-space-size=20000', join(REPO_DIR, 'bin', 'chatsim.js'), 'run', 'scenarios/flaky-mobile.yaml', '--engine', 'sim', '--json', '--out', out, ...c.args];
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
    const monitor = new TreeMonitor(child.pid!, 250);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`chatsim run ${c.args.join(' ')} took longer than ${c.timeoutMs / 1000} s`)); }, c.timeoutMs);
      child.on('exit', (code) => { clearTimeout(timer); resolve(code); });
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    const usage = monitor.stop();
    if (exitCode !== 0 && exitCode !== 1 && exitCode !== 2) throw new Error(`chatsim run exited ${exitCode}: ${stderr.slice(-600)}`);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as { durationMs: number; metrics: { phones: number }; verdict?: string; exitCode?: number };
    const events = await countLines(join(out, 'history.jsonl.gz'));
    const r = { phones: summary.metrics.phones, simulatedSeconds: summary.durationMs / 1000, wallSeconds, events, peakRssBytes: usage.peakRssBytes, cpuSeconds: usage.cpuSeconds, verdict: summary.verdict ?? `exit ${exitCode}`, exitCode };
    ctx.log(`  ${c.label}: ${r.phones} phones, ${round(r.simulatedSeconds, 1)} simulated s in ${round(wallSeconds, 1)} s, ${events} events, verdict ${r.verdict}`);
    return r;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export const simEngine: Benchmark = {
  name: 'sim',
  title: 'Simulation engine, simulated seconds per real second',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const figures: Figure[] = [];
    const details: Record<string, unknown> = {};
    for (const [i, c] of PROFILES[ctx.profile].entries()) {
      const r = await runCase(ctx, c);
      details[c.label] = r;
      const id = i === 0 ? 'sim-speed' : `sim-speed-${r.phones}`;
      figures.push(figure({
        id, label: `sim: ${c.label}`, ours: r.simulatedSeconds / r.wallSeconds, unit: 'sim s/s', peer: 1, peerName: 'real time',
        ratio: r.simulatedSeconds / r.wallSeconds, ratioMeaning: 'simulated seconds per wall-clock second of the whole command (1.0 = real time)',
        goal: { op: '>=', value: 1, text: 'at least real time' },
        ...(i === 0 && ctx.profile === 'quick' ? { gate: { op: '>=' as const, floor: 1, margin: 'real time; the quick case runs at 3-6 simulated s per s on a busy machine' } } : {}),
        note: `${r.events.toLocaleString('en-US')} history events, ${Math.round(r.events / r.wallSeconds).toLocaleString('en-US')} events/s, ${round(r.cpuSeconds, 1)} CPU-s, peak RSS ${Math.round(r.peakRssBytes / 2 ** 20)} MiB, verdict ${r.verdict}`,
      }));
      figures.push(figure({ id: `${id}-events`, label: `sim events/s: ${c.label}`, ours: r.events / r.wallSeconds, unit: 'events/s' }));
    }
    return {
      method: 'node --max-old-space-size=20000 bin/chatsim.js run scenarios/flaky-mobile.yaml --engine sim --json (plus the phones/duration of each case) in its own process; '
        + 'simulated seconds = summary.json durationMs (load and heal); wall = the whole command (provisioning, the simulated load and heal, sorting and checking '
        + 'the history, writing the reports); events = lines of history.jsonl.gz; CPU and peak RSS summed over the process tree from /proc. '
        + (ctx.profile === 'full' ? 'The 10,000-phone case runs 2 simulated minutes, not the 10 of docs/performance.md, to keep the profile bounded.' : ''),
      figures,
      details,
    };
  },
};
