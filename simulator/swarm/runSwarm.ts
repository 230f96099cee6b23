import { rm } from 'node:fs/promises';
import type { BugName } from '../../server/bugs/BugCatalogue.ts';
import { join } from 'node:path';
import type { TimeSource } from '../../server/ports/Clock.ts';
import { performRun } from '../engine/performRun.ts';
import { drawScenario, DEFAULT_SWARM_BOUNDS, type SwarmBounds } from './drawScenario.ts';
import { reproduceLine } from '../report/reproduceLine.ts';

export interface SwarmOptions {
  /** First seed. */
  from: number;
  /** How many seeds, from `from` upwards. */
  seeds: number;
  /** Bugs injected in every seed (none: hunting for real bugs in the reference cluster). */
  bugs: readonly BugName[];
  /** Each failing seed's run is saved under outDir/seed-N; passing ones are removed unless `keepPassing`. */
  outDir: string;
  keepPassing?: boolean;
  /** Stop at the first failing seed. */
  stopAtFirstFailure?: boolean;
  /** Wall clock, for the report stamps and the timing of each seed (never inside the simulation). */
  time: TimeSource;
  bounds?: SwarmBounds;
  onSeed?: (result: SeedResult) => void;
}

export interface SeedResult {
  seed: number;
  verdict: 'pass' | 'fail' | 'error';
  phones: number;
  chats: number;
  faults: string[];
  /** Failed property ids, in catalogue order. */
  failed: string[];
  /** The first failed property's first explained example. */
  example?: string;
  /** `chatsim run <dir>/scenario.yaml --engine sim --seed N`. */
  reproduce: string;
  /** The saved run (failing seeds, or every seed with keepPassing). */
  runDir?: string;
  /** Wall time of this seed. */
  wallMs: number;
  /** Simulated time of this seed (load plus heal). */
  simulatedMs: number;
  events: number;
}

/**
 * A swarm in the manner of TigerBeetle's VOPR: each seed draws its own scenario (drawScenario),
 * runs it in the simulation engine through a fault phase and a heal, and checks every property.
 * A failure keeps its run directory and prints the line that replays it exactly.
 */
export async function runSwarm(options: SwarmOptions): Promise<SeedResult[]> {
  const results: SeedResult[] = [];
  for (let seed = options.from; seed < options.from + options.seeds; seed++) {
    const result = await runSeed(seed, options);
    results.push(result);
    options.onSeed?.(result);
    if (result.verdict !== 'pass' && options.stopAtFirstFailure) break;
  }
  return results;
}

async function runSeed(seed: number, options: SwarmOptions): Promise<SeedResult> {
  const { scenario } = drawScenario(seed, options.bugs, options.bounds ?? DEFAULT_SWARM_BOUNDS);
  const runDir = join(options.outDir, `seed-${seed}`);
  const file = join(runDir, 'scenario.yaml');
  const reproduce = reproduceLine(file, { engine: 'sim', seed, cluster: scenario.cluster }, {});
  const startedMs = options.time.nowMs();
  const run = await performRun({ file, scenario, outDir: runDir, reproduce, checks: 'all', time: options.time });
  const wallMs = options.time.nowMs() - startedMs;
  const failedProps = run.properties.filter((p) => p.verdict === 'fail');
  const verdict = run.summary.runFailed ? 'error' : failedProps.length > 0 ? 'fail' : 'pass';
  const keep = verdict !== 'pass' || options.keepPassing === true;
  if (!keep) await rm(runDir, { recursive: true, force: true });
  return {
    seed, verdict,
    phones: run.summary.metrics.phones,
    chats: countChats(run.events),
    faults: scenario.faults.map((f) => f.kind),
    failed: failedProps.map((p) => p.id),
    ...(failedProps[0]?.examples[0] ? { example: failedProps[0].examples[0] } : run.summary.runFailed ? { example: `${run.summary.runFailed.code}: ${run.summary.runFailed.message}` } : {}),
    reproduce,
    ...(keep ? { runDir } : {}),
    wallMs,
    simulatedMs: scenario.durationMs + scenario.healMs,
    events: run.events?.length ?? 0,
  };
}

function countChats(events: readonly { type: string; what?: string; chat?: string }[] | undefined): number {
  const chats = new Set<string>();
  for (const e of events ?? []) if (e.type === 'oracle' && e.what === 'member' && e.chat) chats.add(e.chat);
  return chats.size;
}
