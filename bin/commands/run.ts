import { InvalidArgumentError, type Command } from 'commander';
import { join, resolve } from 'node:path';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import type { RunProgress } from '../../simulator/engine/LiveRun.ts';
import { EXIT_CODES } from '../../simulator/report/Summary.ts';
import { formatSummary, progressLine } from '../../simulator/report/terminalSummary.ts';
import { loadScenario, type ScenarioOverrides } from '../../simulator/scenario/loadScenario.ts';
import { performRun } from '../../simulator/engine/performRun.ts';
import { exitCleanlyOnInterrupt } from '../interrupt.ts';

interface RunOptions {
  seed?: number;
  phones?: number;
  duration?: number;
  target?: string;
  out?: string;
  json?: boolean;
  workers?: number;
  injectBug?: string[];
  checks?: 'core' | 'all';
  engine?: 'live' | 'sim';
  processes?: 'single' | 'multi';
  redis?: string;
  cassandra?: string;
}

/** `chatsim run <scenario>`: the main job. Exit codes: 0 pass, 1 property failed, 2 threshold failed, 3 run failed, 64 bad usage. */
export function registerRun(program: Command, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('run a scenario: phones on flaky networks against the reference cluster (or --target), then check and report')
    .argument('<scenario>', 'scenario file (YAML, see scenarios/schema.json)')
    .option('--seed <n>', 'seed for every random choice (overrides the scenario)', parseInteger)
    .option('--phones <n>', 'number of phones (scales the population)', parsePositive)
    .option('--duration <d>', 'load duration, e.g. 30s or 2m (overrides the scenario)', parseDurationMs)
    .option('--engine <engine>', 'live (real sockets, wall clock) or sim (deterministic, virtual time); overrides the scenario', parseEngine)
    .option('--target <url>', 'HTTP URL of a running cluster to load instead of starting one')
    .option('--processes <mode>', 'single (the cluster in this process) or multi (a process per gateway and chat server, on Redis and Cassandra); overrides cluster.processes', parseProcesses)
    .option('--redis <url>', 'Redis for the Redis-backed ports: a redis:// URL or local (start one); implies --processes multi unless given')
    .option('--cassandra <host:port>', 'Cassandra node for the message store (default 127.0.0.1:9042); implies --processes multi unless given')
    .option('--out <dir>', 'run directory (default reports/<run-id>)')
    .option('--workers <n>', 'phone worker threads', parsePositive)
    .option('--checks <set>', 'all (the whole catalogue A1-F2; default) or core (A4, A5, B1, F1 only)', parseCheckSet)
    .option('--inject-bug <name>', 'turn on a deliberate defect (repeatable; `chatsim bugs` lists them)', collect)
    .option('--json', 'print summary.json to stdout instead of the table')
    .addHelpText('after', '\nExit codes: 0 all passed, 1 a correctness property failed, 2 a threshold failed,\n3 the run could not complete, 64 bad usage or invalid scenario, 130 interrupted (SIGINT;\n143 SIGTERM): the cluster is stopped and what it provisioned (keyspace, Redis keys) released.')
    .action(async (file: string, opts: RunOptions) => setExit(await runCommand(file, opts)));
}

async function runCommand(file: string, opts: RunOptions): Promise<number> {
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR && !opts.json;
  const overrides: ScenarioOverrides = {};
  if (opts.seed !== undefined) overrides.seed = opts.seed;
  if (opts.phones !== undefined) overrides.phones = opts.phones;
  if (opts.duration !== undefined) overrides.durationMs = opts.duration;
  if (opts.target !== undefined) overrides.target = opts.target;
  if (opts.injectBug !== undefined) overrides.bugs = opts.injectBug;
  if (opts.engine !== undefined) overrides.engine = opts.engine;
  if (opts.processes !== undefined) overrides.processes = opts.processes;
  else if (opts.redis !== undefined || opts.cassandra !== undefined) overrides.processes = 'multi';
  if (opts.redis !== undefined) overrides.redis = opts.redis;
  if (opts.cassandra !== undefined) overrides.cassandra = opts.cassandra;
  const loaded = await loadScenario(file, overrides);
  if (!loaded.ok) {
    console.error(`chatsim run: invalid scenario ${file}`);
    for (const error of loaded.errors) console.error(`  ${error.path || '(file)'}: ${error.message}`);
    return EXIT_CODES.usage;
  }
  const scenario = loaded.scenario;
  const time = createSystemTime();
  const runId = `${scenario.name}-${scenario.seed}-${new Date(time.nowMs()).toISOString().replace(/[:.]/g, '-')}`;
  const outDir = resolve(opts.out ?? join('reports', runId));
  const log = (line: string): void => { if (!opts.json) console.error(line); };
  if (scenario.engine === 'sim' && scenario.target) {
    console.error('chatsim run: --engine sim simulates the reference cluster; it cannot load a --target');
    return EXIT_CODES.usage;
  }
  const reproduce = `chatsim run ${file}${scenario.engine === 'sim' ? ' --engine sim' : ''} --seed ${scenario.seed}${opts.phones ? ` --phones ${opts.phones}` : ''}${opts.duration ? ` --duration ${opts.duration}ms` : ''}${(opts.injectBug ?? []).map((b) => ` --inject-bug ${b}`).join('')}${opts.checks === 'core' ? ' --checks core' : ''}${opts.processes || opts.redis || opts.cassandra ? ` --processes ${scenario.cluster.processes}` : ''}${opts.redis ? ` --redis ${opts.redis}` : ''}${opts.cassandra ? ` --cassandra ${opts.cassandra}` : ''}`;
  const onProgress = (p: RunProgress): void => showProgress(p, opts.json === true);
  exitCleanlyOnInterrupt('run');
  const { summary, files, historyPath } = await performRun({
    file, scenario, outDir, reproduce, checks: opts.checks ?? 'all', time, onLog: log, onProgress,
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  if (summary.runFailed) {
    console.error(`chatsim run: the run could not complete: ${summary.runFailed.code}: ${summary.runFailed.message}`);
    if (opts.json) console.log(JSON.stringify(summary, null, 2));
    return summary.exitCode;
  }
  if (opts.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(formatSummary(summary, { color, runDir: outDir }));
    console.log(`reports: ${[...files, ...(historyPath ? [historyPath] : [])].join(', ')}`);
  }
  return summary.exitCode;
}

let lastPlainProgressMs = -Infinity;

/** A live line on a TTY; plain lines every 5 s otherwise (CI logs). */
function showProgress(p: RunProgress, quiet: boolean): void {
  if (quiet) return;
  const line = progressLine(p);
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${line}\u001b[K`);
  } else if (p.elapsedMs - lastPlainProgressMs >= 5000) {
    lastPlainProgressMs = p.elapsedMs;
    process.stderr.write(`${line}\n`);
  }
}

function parseEngine(value: string): 'live' | 'sim' {
  if (value !== 'live' && value !== 'sim') throw new InvalidArgumentError(`expected live or sim, got ${value}`);
  return value;
}

function parseProcesses(value: string): 'single' | 'multi' {
  if (value !== 'single' && value !== 'multi') throw new InvalidArgumentError(`expected single or multi, got ${value}`);
  return value;
}

function parseCheckSet(value: string): 'core' | 'all' {
  if (value !== 'core' && value !== 'all') throw new InvalidArgumentError(`expected core or all, got ${value}`);
  return value;
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer, got ${value}`);
  return n;
}

export function parsePositive(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
}

function parseDurationMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected a duration like 500ms, 30s, 2m; got ${value}`);
  const unitName = (match[2] ?? 's') as 'ms' | 's' | 'm' | 'h';
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unitName];
  return Math.round(Number(match[1]) * unit);
}
