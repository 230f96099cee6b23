import { InvalidArgumentError, type Command } from 'commander';
import { join, resolve } from 'node:path';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { systemRandomSeed } from '../../server/runtime/systemRandomSeed.ts';
import type { RunProgress } from '../../simulator/report/RunProgress.ts';
import { EXIT_CODES, type Summary } from '../../simulator/report/Summary.ts';
import { formatSummary } from '../../simulator/report/terminalSummary.ts';
import { createProgressView } from '../progress.ts';
import { formatScenarioError, loadScenario, type ScenarioOverrides } from '../../simulator/scenario/loadScenario.ts';
import { performRun } from '../../simulator/engine/performRun.ts';
import { compareRuns, formatComparison } from '../../simulator/report/compareRuns.ts';
import { readSummary } from './compare.ts';
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { openOutputs, parseOutputSpec, type OutputSpec, type RunOutputs } from '../../simulator/output/runOutputs.ts';
import { parseDuration } from '../../simulator/scenario/duration.ts';
import { exitCleanlyOnInterrupt } from '../interrupt.ts';
import { reproduceLine as buildReproduceLine, type ReproducedScenario } from '../../simulator/report/reproduceLine.ts';
import { ADMIN_TOKEN_ENV, resolveSecret } from '../secrets.ts';
import { isDriverPath } from '../../simulator/scenario/driverPath.ts';

interface RunOptions {
  seed?: number;
  phones?: number;
  duration?: number;
  heal?: number;
  target?: string;
  driver?: string;
  adminTokenFile?: string;
  dir?: string;
  out?: string[];
  json?: boolean;
  quiet?: boolean;
  baseline?: string;
  workers?: number;
  injectBug?: string[];
  checks?: 'core' | 'all';
  engine?: 'live' | 'sim';
  processes?: 'single' | 'multi';
  redis?: string;
  cassandra?: string;
  port?: number;
}

/** `chatsim run <scenario>`: the main job. Exit codes: 0 pass, 1 property failed, 2 threshold failed, 3 run failed, 64 bad usage. */
export function registerRun(program: Command, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('run a scenario: phones on flaky networks against the reference cluster (or --target), then check and report')
    .argument('<scenario>', 'scenario file (YAML, see scenarios/schema.json)')
    .option('--seed <n>', 'seed for every random choice (overrides the scenario)', parseInteger)
    .option('--phones <n>', 'number of phones (scales the population)', parsePositive)
    .option('--duration <d>', 'load duration, e.g. 30s or 2m; a bare number is ms (overrides the scenario)', parseDurationMs)
    .option('--heal <d>', 'heal phase after the load (no new load, faults over), e.g. 20s; a bare number is ms (overrides the scenario)', parseDurationMs)
    .option('--engine <engine>', 'live (real sockets, wall clock) or sim (deterministic, virtual time); overrides the scenario', parseEngine)
    .option('--target <url>', 'HTTP URL of a running cluster to load instead of starting one')
    .option('--driver <name|path>', 'the phones\' protocol driver: chatsim.v1 (default), xmpp, or a driver module of your own (path); overrides target.driver')
    .option('--admin-token-file <path>', `with --target: file holding the target's admin token, for provisioning (else $${ADMIN_TOKEN_ENV}, else target.adminToken of the scenario); a cluster run starts its own secrets`)
    .option('--processes <mode>', 'single (the cluster in this process) or multi (a process per gateway and chat server, on Redis and Cassandra); overrides cluster.processes', parseProcesses)
    .option('--redis <url>', 'Redis for the Redis-backed ports: a redis:// URL or local (start one); implies --processes multi unless given')
    .option('--cassandra <host:port>', 'Cassandra node for the message store (default 127.0.0.1:9042); implies --processes multi unless given')
    .option('--port <n>', 'base port of the cluster run starts: the HTTP API listens on n, gateways on n+1, n+2, ... (multi: chat server nodes need none); default any free ports', parseBasePort)
    .option('--dir <dir>', 'run directory (default reports/<run-id>)')
    .option('--out <kind=where>', 'also write results to json=FILE (JSON lines, streamed), csv=FILE, or serve prometheus=[HOST]:PORT during the run (repeatable); a plain directory is the old spelling of --dir', collect)
    .option('--workers <n>', 'phone worker threads', parsePositive)
    .option('--checks <set>', 'all (the whole catalogue A1-F2; default) or core (A4, A5, B1, F1 only)', parseCheckSet)
    .option('--inject-bug <name>', 'turn on a deliberate defect (repeatable; `chatsim bugs` lists them)', collect)
    .option('--json', 'print summary.json to stdout instead of the table')
    .option('--quiet', 'no progress and no table: only errors, and the exit code')
    .option('--baseline <path>', 'compare with a baseline run (a run directory or summary.json, e.g. main\'s): a regression past tolerance exits 2 (see chatsim compare)')
    .addHelpText('after', `\nEnvironment: ${RUN_ENV.map(([name]) => name).join(', ')} set the flag of the same name; a flag given on the command line wins, and either wins over the scenario file.\n\nExit codes: 0 all passed, 1 a correctness property failed, 2 a threshold failed,\n3 the run could not complete, 64 bad usage or invalid scenario, 130 interrupted (SIGINT;\n143 SIGTERM): the cluster is stopped and what it provisioned (keyspace, Redis keys) released.`)
    .action(async (file: string, opts: RunOptions) => {
      let merged: RunOptions;
      try {
        merged = withEnvironment(opts, process.env);
      } catch (error) {
        console.error(`chatsim run: ${(error as Error).message}`);
        setExit(EXIT_CODES.usage);
        return;
      }
      setExit(await runCommand(file, merged));
    });
}

/** CHATSIM_* variables for run's flags: `[variable, option, parse]`. */
const RUN_ENV: ReadonlyArray<[string, keyof RunOptions, (value: string) => unknown]> = [
  ['CHATSIM_SEED', 'seed', parseInteger], ['CHATSIM_PHONES', 'phones', parsePositive], ['CHATSIM_DURATION', 'duration', parseDurationMs],
  ['CHATSIM_HEAL', 'heal', parseDurationMs], ['CHATSIM_ENGINE', 'engine', parseEngine], ['CHATSIM_TARGET', 'target', String], ['CHATSIM_DRIVER', 'driver', String],
  ['CHATSIM_DIR', 'dir', String], ['CHATSIM_OUT', 'out', (v) => v.split(/\s+/).filter((x) => x !== '')], ['CHATSIM_WORKERS', 'workers', parsePositive],
  ['CHATSIM_PROCESSES', 'processes', parseProcesses], ['CHATSIM_REDIS', 'redis', String], ['CHATSIM_CASSANDRA', 'cassandra', String],
  ['CHATSIM_CHECKS', 'checks', parseCheckSet], ['CHATSIM_PORT', 'port', parseBasePort], ['CHATSIM_QUIET', 'quiet', parseFlag], ['CHATSIM_BASELINE', 'baseline', String],
];

/**
 * Fills options not given on the command line from CHATSIM_* variables (precedence: flag, then
 * variable, then scenario file). A variable that does not parse is bad usage, like the flag.
 */
export function withEnvironment(opts: RunOptions, env: NodeJS.ProcessEnv): RunOptions {
  const out: Record<string, unknown> = { ...opts };
  for (const [name, option, parse] of RUN_ENV) {
    const raw = env[name];
    if (raw === undefined || raw === '' || out[option] !== undefined) continue;
    try {
      out[option] = parse(raw);
    } catch (error) {
      throw new InvalidArgumentError(`${name}=${raw}: ${(error as Error).message}`);
    }
  }
  return out as RunOptions;
}

function parseFlag(value: string): boolean {
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new InvalidArgumentError(`expected 1/true/yes or 0/false/no, got ${value}`);
}

async function runCommand(file: string, opts: RunOptions): Promise<number> {
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR && !opts.json && !opts.quiet;
  const outputs = outputSpecs(opts);
  if (!outputs.ok) {
    console.error(`chatsim run: --out ${outputs.message}`);
    return EXIT_CODES.usage;
  }
  const baseline = opts.baseline === undefined ? undefined : await readSummary(opts.baseline);
  if (baseline && !baseline.ok) {
    console.error(`chatsim run: --baseline ${baseline.message}`);
    return EXIT_CODES.usage;
  }
  const overrides = scenarioOverridesOf(opts);
  const loaded = await loadScenario(file, overrides);
  if (!loaded.ok) {
    for (const error of loaded.errors) console.error(`chatsim run: ${formatScenarioError(file, error)}`);
    return EXIT_CODES.usage;
  }
  const scenario = loaded.scenario;
  if (opts.port !== undefined) {
    const refused = basePortProblem(opts.port, scenario);
    if (refused) {
      console.error(`chatsim run: --port ${opts.port}: ${refused}`);
      return EXIT_CODES.usage;
    }
  }
  if (scenario.target && (opts.adminTokenFile !== undefined || process.env[ADMIN_TOKEN_ENV])) {
    const token = await resolveSecret(opts.adminTokenFile, ADMIN_TOKEN_ENV, process.env, 'admin token', (line) => console.error(`chatsim run: warning: ${line}`));
    if (!token.ok) {
      console.error(`chatsim run: ${token.message}`);
      return EXIT_CODES.usage;
    }
    scenario.target.adminToken = token.secret;
  }
  const time = createSystemTime();
  const runId = `${scenario.name}-${scenario.seed}-${new Date(time.nowMs()).toISOString().replace(/[:.]/g, '-')}`;
  const outDir = resolve(outputs.dir ?? join('reports', runId));
  const silent = opts.json === true || opts.quiet === true;
  const view = createProgressView(process.stderr, { quiet: silent, env: process.env });
  const log = (line: string): void => { if (!silent) view.log(line); };
  if (scenario.engine === 'sim' && scenario.target) {
    console.error('chatsim run: --engine sim simulates the reference cluster; it cannot load a --target');
    return EXIT_CODES.usage;
  }
  const writable = await writableDirectory(outDir);
  if (!writable.ok) {
    console.error(`chatsim run: --dir ${outDir}: ${writable.message}`);
    return EXIT_CODES.usage;
  }
  const reproduce = reproduceLine(file, scenario, opts);
  let sinks: RunOutputs;
  try {
    sinks = await openOutputs(outputs.specs);
  } catch (error) {
    const message = (error as Error).message;
    console.error(`chatsim run: --out ${message}`);
    // A port another process holds is the machine's state, not bad usage (docs/cli.md: exit 3).
    return /EADDRINUSE/.test(message) ? EXIT_CODES.runFailed : EXIT_CODES.usage;
  }
  const onProgress = (p: RunProgress): void => {
    sinks.progress(p);
    view.update(p);
  };
  exitCleanlyOnInterrupt('run');
  const { summary, files, historyPath, timeSeries } = await performRun({
    file, scenario, outDir, reproduce, checks: opts.checks ?? 'all', time, onLog: log, onProgress,
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.port !== undefined ? { basePort: opts.port } : {}),
  }).catch(async (error: unknown) => { view.done(); await sinks.close(); throw error; });
  view.done();
  await sinks.finish(summary, timeSeries ?? []);
  if (summary.runFailed) {
    console.error(`chatsim run: the run could not complete: ${summary.runFailed.code}: ${summary.runFailed.message}`);
    if (opts.json) console.log(JSON.stringify(summary, null, 2));
    return summary.exitCode;
  }
  return reportRun(summary, files, historyPath, outDir, opts, baseline?.summary, color);
}

/** The scenario fields the command line replaces; without --seed a seed is drawn (and printed in the reproduce line). */
function scenarioOverridesOf(opts: RunOptions): ScenarioOverrides {
  const overrides: ScenarioOverrides = {};
  if (opts.seed !== undefined) overrides.seed = opts.seed;
  else overrides.seedWhenAbsent = systemRandomSeed();
  if (opts.phones !== undefined) overrides.phones = opts.phones;
  if (opts.duration !== undefined) overrides.durationMs = opts.duration;
  if (opts.heal !== undefined) overrides.healMs = opts.heal;
  if (opts.target !== undefined) overrides.target = opts.target;
  if (opts.driver !== undefined) overrides.driver = isDriverPath(opts.driver) ? resolve(opts.driver) : opts.driver;
  if (opts.injectBug !== undefined) overrides.bugs = opts.injectBug;
  if (opts.engine !== undefined) overrides.engine = opts.engine;
  if (opts.processes !== undefined) overrides.processes = opts.processes;
  else if (opts.redis !== undefined || opts.cassandra !== undefined) overrides.processes = 'multi';
  if (opts.redis !== undefined) overrides.redis = opts.redis;
  if (opts.cassandra !== undefined) overrides.cassandra = opts.cassandra;
  return overrides;
}

/** Prints the finished run (JSON or the summary) and compares it with the baseline; answers the exit code. */
async function reportRun(summary: Summary, files: string[], historyPath: string | undefined, outDir: string, opts: RunOptions, baseline: Summary | undefined, color: boolean): Promise<number> {
  if (opts.json) console.log(JSON.stringify(summary, null, 2));
  else if (!opts.quiet) {
    console.log(formatSummary(summary, { color, runDir: outDir }));
    console.log(`reports: ${[...files, ...(historyPath ? [historyPath] : [])].join(', ')}`);
  }
  if (!baseline) return summary.exitCode;
  // Against the baseline: the comparison goes to comparison.json; a regression exits 2 unless a worse code applies.
  const comparison = compareRuns(baseline, summary);
  await writeFile(join(outDir, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);
  if (!opts.json && !opts.quiet) console.log(`\nagainst the baseline ${opts.baseline}\n${formatComparison(comparison)}`);
  else if (comparison.regressions.length > 0) console.error(`chatsim run: ${comparison.regressions.length} regression(s) against the baseline: ${comparison.regressions.map((r) => r.metric).join(', ')}`);
  return summary.exitCode === EXIT_CODES.pass && comparison.regressions.length > 0 ? EXIT_CODES.threshold : summary.exitCode;
}

/** --out values split into output specs and, for the old `--out DIR` spelling, the run directory (with a notice). */
function outputSpecs(opts: RunOptions): { ok: true; specs: OutputSpec[]; dir: string | undefined } | { ok: false; message: string } {
  const specs: OutputSpec[] = [];
  let dir = opts.dir;
  for (const value of opts.out ?? []) {
    if (!value.includes('=')) {
      if (dir !== undefined) return { ok: false, message: `"${value}": a run directory is given by --dir (${dir} already); --out takes json=FILE, csv=FILE or prometheus=[HOST]:PORT` };
      console.error(`chatsim run: --out ${value} names the run directory, which is now --dir ${value}; --out takes json=FILE, csv=FILE, prometheus=[HOST]:PORT`);
      dir = value;
      continue;
    }
    const parsed = parseOutputSpec(value);
    if (!parsed.ok) return { ok: false, message: parsed.message };
    specs.push(parsed.spec);
  }
  return { ok: true, specs, dir };
}

/** The reproduce line of this run; simulator/report/reproduceLine.ts builds every one (run, swarm, shrink). */
export function reproduceLine(file: string, scenario: ReproducedScenario, opts: RunOptions): string {
  return buildReproduceLine(file, scenario, opts);
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

/** A TCP port a cluster can start on: 1..65535 (0, "any free port", is the default without the flag). */
export function parseBasePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`expected a port number from 1 to 65535, got ${value}`);
  return n;
}

/** Why a base port cannot serve this scenario, or undefined: it needs a cluster run starts, and room for every gateway. */
export function basePortProblem(port: number, scenario: { engine: string; target?: unknown; cluster: { gateways: number } }): string | undefined {
  if (scenario.target) return 'the cluster is --target\'s, not one run starts; --port applies only to a cluster run starts';
  if (scenario.engine === 'sim') return 'the simulation engine opens no ports (--engine sim); --port applies to the live engine';
  const last = port + scenario.cluster.gateways;
  if (last > 65535) return `the API on ${port} and ${scenario.cluster.gateways} gateway(s) after it need ports up to ${last}, past 65535`;
  return undefined;
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

/** One syntax with scenario files (simulator/scenario/duration.ts): a bare number is ms. */
export function parseDurationMs(value: string): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.message);
  return parsed.ms;
}

/** Makes the directory (and its parents) if need be and checks it can be written: a run must not fail at its end for want of a place to write. */
export async function writableDirectory(dir: string): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return { ok: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, message: code === 'ENOTDIR' || code === 'EEXIST' ? 'not a directory (a file is in the way)' : `cannot write there (${code ?? (error as Error).message})` };
  }
}
