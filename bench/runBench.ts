// npm run bench [-- --profile quick|full] [--gate] [--json] [--only a,b] [--help]
// Runs the benchmarks one after another (each starts and ends its own child processes), prints
// a table of figures side by side with their ceiling or peer, writes reports/bench/<date>.json,
// and with --gate exits 1 when a ratio regressed past its stated floor.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { killAllChildren, REPO_DIR } from './lib/child.ts';
import { passesGate, type BenchOutcome, type Benchmark, type Figure, type Profile } from './lib/types.ts';
import { fmt, round } from './lib/util.ts';
import { checkers } from './checkers.ts';
import { fanout } from './fanout.ts';
import { generator } from './generator.ts';
import { idleMemory } from './idleMemory.ts';
import { simEngine } from './simEngine.ts';
import { throughput } from './throughput.ts';
import { xmppVsTsung } from './xmppVsTsung.ts';

const BENCHMARKS: Benchmark[] = [throughput, generator, idleMemory, fanout, simEngine, checkers, xmppVsTsung];
/** Benchmarks with no gate floor that `--gate` leaves out unless named by `--only`. */
const UNGATED: readonly string[] = ['tsung'];

const HELP = `npm run bench -- [options]

  --profile quick|full  quick: small counts, a few minutes (what --gate runs by default);
                        full: the figures in docs/performance.md (default full)
  --gate                exit 1 if a ratio fell below its gate floor (large regressions only);
                        implies --profile quick unless --profile is given
  --json                print the report JSON on stdout instead of the table
  --only a,b            run only these benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')}
  --help                this text

Writes reports/bench/<YYYY-MM-DD>.json (reports/bench/<date>-quick.json for the quick profile).`;

interface Options { profile: Profile; gate: boolean; json: boolean; only: string[] | undefined }

function parseArgs(argv: string[]): Options | 'help' | string {
  let profile: Profile | undefined;
  let gate = false;
  let json = false;
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    else if (arg === '--gate') gate = true;
    else if (arg === '--json') json = true;
    else if (arg === '--profile' || arg.startsWith('--profile=')) {
      const value = arg.includes('=') ? arg.split('=')[1] : argv[++i];
      if (value !== 'quick' && value !== 'full') return `--profile: expected quick or full, got ${value}`;
      profile = value;
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.split('=')[1] : argv[++i];
      only = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = only.filter((n) => !BENCHMARKS.some((b) => b.name === n));
      if (unknown.length > 0 || only.length === 0) return `--only: unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`;
    } else return `unknown option ${arg}`;
  }
  return { profile: profile ?? (gate ? 'quick' : 'full'), gate, json, only };
}

interface BenchRecord extends Partial<BenchOutcome> {
  name: string;
  title: string;
  seconds: number;
  error?: string;
}

function table(records: BenchRecord[]): string {
  const rows: string[][] = [['benchmark', 'figure', 'ours', 'ceiling / peer', 'ratio', 'goal', 'met']];
  for (const r of records) {
    if (r.error) {
      rows.push([r.name, `FAILED: ${r.error.split('\n')[0]!.slice(0, 100)}`, '', '', '', '', 'MISSED']);
      continue;
    }
    for (const f of r.figures ?? []) {
      rows.push([
        r.name, f.label, `${fmt(f.ours)} ${f.unit}`, f.peer !== undefined ? `${fmt(f.peer)} (${f.peerName})` : '-',
        f.ratio !== undefined ? fmt(f.ratio) : '-', f.goal ? `${f.goal.op} ${f.goal.value}` : '-',
        f.met === undefined ? (f.goal ? 'n/a' : '') : f.met ? 'met' : 'MISSED',
      ]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]): string => row.map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(HELP);
    return 0;
  }
  if (typeof parsed === 'string') {
    console.error(`npm run bench: ${parsed}\n\n${HELP}`);
    return 64;
  }
  const options = parsed;
  const log = (line: string): void => { if (!options.json) console.error(line); else process.stderr.write(`${line}\n`); };
  // The gate runs the benchmarks that have a floor; Tsung's comparison has none and needs an
  // ejabberd and Debian's Tsung, so CI's gate does not depend on either (`--only tsung` runs it).
  const selected = BENCHMARKS.filter((b) => (options.only ? options.only.includes(b.name) : !(options.gate && UNGATED.includes(b.name))));
  const startedAt = new Date();
  const records: BenchRecord[] = [];
  log(`chatsim bench, profile ${options.profile}: ${selected.map((b) => b.name).join(', ')}`);
  for (const bench of selected) {
    log(`${bench.name}: ${bench.title}`);
    const t0 = performance.now();
    try {
      const outcome = await bench.run({ profile: options.profile, log });
      records.push({ name: bench.name, title: bench.title, seconds: round((performance.now() - t0) / 1000, 1), ...outcome });
      for (const note of outcome.notes ?? []) log(`  NOTE: ${note}`);
    } catch (error) {
      const message = (error as Error).stack ?? String(error);
      log(`  FAILED: ${message}`);
      records.push({ name: bench.name, title: bench.title, seconds: round((performance.now() - t0) / 1000, 1), error: message });
    } finally {
      killAllChildren();
    }
  }
  const figures: Array<Figure & { bench: string }> = records.flatMap((r) => (r.figures ?? []).map((f) => ({ ...f, bench: r.name })));
  const missed = figures.filter((f) => f.met === false);
  const gates = figures.filter((f) => f.gate).map((f) => ({ id: f.id, ratio: f.ratio, ...f.gate!, passed: passesGate(f.gate!, f.ratio) }));
  // A benchmark that failed outright fails the gate too: its ratios could not be checked.
  const failedBenches = records.filter((r) => r.error).map((r) => r.name);
  const gateFailed = gates.filter((g) => !g.passed).map((g) => `${g.id}: ratio ${fmt(g.ratio)} not ${g.op} ${g.floor} (${g.margin})`).concat(failedBenches.map((n) => `${n}: the benchmark failed`));
  const cpu = cpus()[0]?.model ?? 'unknown';
  const report = {
    schemaVersion: 1,
    startedAt: startedAt.toISOString(),
    profile: options.profile,
    machine: { cores: availableParallelism(), cpu, memoryBytes: totalmem(), node: process.version, platform: `${process.platform} ${process.arch}` },
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    benchmarks: records,
    goalsMissed: missed.map((f) => f.id),
    gate: options.gate ? { passed: gateFailed.length === 0, checks: gates, failures: gateFailed } : undefined,
  };
  const dir = join(REPO_DIR, 'reports', 'bench');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().slice(0, 10)}${options.profile === 'quick' ? '-quick' : ''}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`\n${table(records)}\n`);
    console.log(`machine: ${report.machine.cores} cores (${cpu}), ${round(report.machine.memoryBytes / 2 ** 30, 1)} GiB, Node ${process.version}; profile ${options.profile}`);
    if (missed.length > 0) console.log(`goals MISSED: ${missed.map((f) => `${f.id} (ratio ${fmt(f.ratio)}, goal ${f.goal!.op} ${f.goal!.value}: ${f.goal!.text})`).join('; ')}`);
    else console.log('every goal measured was met');
    for (const r of records) for (const f of r.figures ?? []) if (f.note) console.log(`  ${r.name}/${f.id}: ${f.note}`);
    for (const r of records) for (const n of r.notes ?? []) console.log(`  NOTE ${r.name}: ${n}`);
    console.log(`report: ${file}`);
  }
  if (options.gate) {
    if (gateFailed.length > 0) {
      console.error(`bench gate FAILED:\n  ${gateFailed.join('\n  ')}`);
      return 1;
    }
    console.error(`bench gate passed (${gates.length} ratio(s) above their floors)`);
  }
  return 0;
}

process.exitCode = await main();
