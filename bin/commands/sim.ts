import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { isBugName } from '../../server/bugs/BugCatalogue.ts';
import { unknownBugHint } from '../../simulator/scenario/parseNamedLists.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { EXIT_CODES } from '../../simulator/report/Summary.ts';
import { runSwarm, type SeedResult } from '../../simulator/swarm/runSwarm.ts';
import { collect, parseInteger, parsePositive, writableDirectory } from './run.ts';

interface SimOptions {
  seeds: number;
  from?: number;
  injectBug?: string[];
  out?: string;
  keep?: boolean;
  stop?: boolean;
  json?: boolean;
}

/** Most seeds one `chatsim sim` call runs (each is a few seconds of CPU). */
export const SWARM_SEEDS_MAX = 100_000;

/**
 * `chatsim sim`: the swarm. Each seed draws its own scenario and runs it in the simulation
 * engine; failures keep their run directory and print the line that replays them.
 * Exit codes: 0 every seed passed, 1 a seed failed (or could not run), 64 bad usage.
 */
export function registerSim(program: Command, setExit: (code: number) => void): void {
  program
    .command('sim')
    .description('swarm-test the reference cluster in the simulation engine: each seed draws its own scenario (phones, chats, links, faults), runs, heals and checks every property')
    .option('--seeds <n>', 'how many seeds to run', parsePositive, 20)
    .option('--from <seed>', 'first seed (default: a seed from the wall clock, printed)', parseInteger)
    .option('--inject-bug <name>', 'run every seed with this defect on (repeatable): how many seeds until it is found?', collect)
    .option('--out <dir>', 'where failing runs are saved (default reports/sim-<first seed>)')
    .option('--keep', 'keep the run directories of passing seeds too')
    .option('--stop', 'stop at the first failing seed')
    .option('--json', 'print one JSON object per seed, then a summary object')
    .addHelpText('after', '\nEach failure prints: reproduce: chatsim run <dir>/scenario.yaml --engine sim --seed N\nThen: chatsim shrink <dir> finds a smaller scenario with the same failure.\n\nExit codes: 0 every seed passed, 1 a seed failed or could not run, 64 bad usage.')
    .action(async (opts: SimOptions) => setExit(await simCommand(opts)));
}

async function simCommand(opts: SimOptions): Promise<number> {
  const named = opts.injectBug ?? [];
  const unknown = named.filter((b) => !isBugName(b));
  if (unknown.length > 0) {
    console.error(`chatsim sim: unknown bug ${unknown.join(', ')}${unknownBugHint(unknown[0]!) || ' (chatsim bugs lists them)'}`);
    return EXIT_CODES.usage;
  }
  const bugs = named.filter(isBugName);
  if (opts.seeds > SWARM_SEEDS_MAX) {
    console.error(`chatsim sim: --seeds ${opts.seeds} is over the limit of ${SWARM_SEEDS_MAX}`);
    return EXIT_CODES.usage;
  }
  const time = createSystemTime();
  const from = opts.from ?? time.nowMs() % 1_000_000;
  const outDir = resolve(opts.out ?? join('reports', `sim-${from}`));
  const writable = await writableDirectory(outDir);
  if (!writable.ok) {
    console.error(`chatsim sim: --out ${outDir}: ${writable.message}`);
    return EXIT_CODES.usage;
  }
  if (!opts.json) console.error(`chatsim sim: seeds ${from}..${from + opts.seeds - 1}${bugs.length > 0 ? ` with ${bugs.join(', ')}` : ''}; failing runs go to ${outDir}`);
  const results = await runSwarm({
    from, seeds: opts.seeds, bugs, outDir, time, keepPassing: opts.keep === true, stopAtFirstFailure: opts.stop === true,
    onSeed: (r) => console.log(opts.json ? JSON.stringify(r) : seedLine(r)),
  });
  const failed = results.filter((r) => r.verdict !== 'pass');
  const wallMs = results.reduce((sum, r) => sum + r.wallMs, 0);
  const simulatedMs = results.reduce((sum, r) => sum + r.simulatedMs, 0);
  const events = results.reduce((sum, r) => sum + r.events, 0);
  const speed = { simulatedSecondsPerSecond: round(simulatedMs / Math.max(1, wallMs)), eventsPerSecond: Math.round((events * 1000) / Math.max(1, wallMs)) };
  if (opts.json) {
    console.log(JSON.stringify({ summary: true, seeds: results.length, failed: failed.map((r) => r.seed), firstFailure: failed[0]?.seed ?? null, ...speed }));
  } else {
    console.log(`${results.length} seed(s), ${failed.length} failed${failed.length > 0 ? ` (first: seed ${failed[0]!.seed}, the ${ordinal(results.indexOf(failed[0]!) + 1)} seed run)` : ''}; ${speed.simulatedSecondsPerSecond} simulated s per s, ${speed.eventsPerSecond} events/s`);
  }
  return failed.length > 0 ? EXIT_CODES.property : EXIT_CODES.pass;
}

function seedLine(r: SeedResult): string {
  const head = `seed ${r.seed}  ${r.verdict.toUpperCase().padEnd(5)}  ${r.phones} phones, ${r.chats} chats, faults [${r.faults.join(', ')}]  ${(r.wallMs / 1000).toFixed(1)} s`;
  if (r.verdict === 'pass') return head;
  return `${head}\n  failed: ${r.failed.join(', ') || '(run error)'}\n  ${r.example ?? ''}\n  reproduce: ${r.reproduce}\n  shrink: chatsim shrink ${r.runDir}`;
}

function ordinal(n: number): string {
  return `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
