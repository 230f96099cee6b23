import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TimeSource } from '../../server/ports/Clock.ts';
import { performRun, scenarioYaml, type PerformRunResult } from '../engine/performRun.ts';
import { failuresCausesFirst } from '../report/rootCause.ts';
import type { PropertySummary } from '../report/Summary.ts';
import { parseScenario } from '../scenario/loadScenario.ts';
import type { Scenario } from '../scenario/Scenario.ts';
import { expectedPhones, shrinkCandidates } from './shrinkCandidates.ts';
import { formatTimeline } from './timeline.ts';
import { reproduceLine } from '../report/reproduceLine.ts';

export interface ShrinkOptions {
  /** A run directory written by chatsim run or chatsim sim (holds scenario.yaml and summary.json). */
  runDir: string;
  /** Where the smallest scenario, its run and its timeline go. */
  outDir: string;
  /** The property that must keep failing; default: the run's likely root cause (its first failed property, causes first). */
  property?: string;
  /** Most simulation runs the shrink may spend. */
  runsMax?: number;
  time: TimeSource;
  onStep?: (line: string) => void;
}

/** Default budget of simulation runs per shrink (each a fraction of a second to a few seconds). */
export const SHRINK_RUNS_MAX_DEFAULT = 300;

export type ShrinkOutcome =
  | { ok: true; property: string; runs: number; steps: string[]; before: Size; after: Size; scenarioPath: string; timelinePath: string; timeline: string; example: string; reproduce: string }
  | { ok: false; code: 'NOT_A_RUN' | 'DOES_NOT_FAIL' | 'NO_FAILED_PROPERTY'; message: string };

export interface Size {
  phones: number;
  users: number;
  chats: number;
  faults: number;
  durationMs: number;
  messages: number;
}

/**
 * Delta debugging on the scenario: tries smaller variants (shrinkCandidates) in the simulation
 * engine, keeps each one on which the same property still fails, until no variant fails or the
 * budget is spent. Every candidate runs under the same seed, and each phone's random stream is
 * forked by its name, so phones that stay behave as before as far as the world lets them.
 */
export async function shrinkRun(options: ShrinkOptions): Promise<ShrinkOutcome> {
  const loaded = await loadRunScenario(options.runDir);
  if (!loaded.ok) return loaded;
  const property = options.property ?? loaded.failed[0];
  if (!property) return { ok: false, code: 'NO_FAILED_PROPERTY', message: `${options.runDir} has no failed property to shrink (summary.json)` };
  const log = options.onStep ?? (() => undefined);
  const runsMax = options.runsMax ?? SHRINK_RUNS_MAX_DEFAULT;
  let runs = 0;
  const trialDir = join(options.outDir, 'trial');
  const attempt = async (scenario: Scenario): Promise<PerformRunResult | undefined> => {
    runs++;
    await rm(trialDir, { recursive: true, force: true });
    const run = await performRun({ file: join(options.outDir, 'scenario.yaml'), scenario, outDir: trialDir, reproduce: '', checks: 'all', time: options.time });
    return run.properties.some((p) => p.id === property && p.verdict === 'fail') ? run : undefined;
  };

  let current: Scenario = { ...loaded.scenario, engine: 'sim' };
  const original = await attempt(current);
  if (!original) return { ok: false, code: 'DOES_NOT_FAIL', message: `${property} does not fail when ${options.runDir}/scenario.yaml runs in the simulation engine (seed ${current.seed}); a live-only failure cannot be shrunk` };
  const before = sizeOf(current, original);
  log(`shrinking ${property}: ${describeSize(before)}`);
  const steps: string[] = [];
  let progressed = true;
  while (progressed && runs < runsMax) {
    progressed = false;
    for (const candidate of shrinkCandidates(current)) {
      if (runs >= runsMax) break;
      const valid = revalidate(candidate.scenario);
      if (!valid) continue;
      const run = await attempt(valid);
      if (!run) continue;
      current = valid;
      steps.push(candidate.what);
      log(`  ${candidate.what}: still fails ${property} (${describeSize(sizeOf(current, run))})`);
      progressed = true;
      break;
    }
  }
  // Re-run the smallest scenario into outDir itself, so its history and reports sit there.
  await rm(trialDir, { recursive: true, force: true });
  const scenarioPath = join(options.outDir, 'scenario.yaml');
  const reproduce = reproduceLine(scenarioPath, current, {});
  const final = await performRun({ file: scenarioPath, scenario: current, outDir: options.outDir, reproduce, checks: 'all', time: options.time });
  const failed = final.properties.find((p) => p.id === property && p.verdict === 'fail');
  const example = failed?.examples[0] ?? '';
  const timeline = formatTimeline(final.events ?? [], example);
  const timelinePath = join(options.outDir, 'timeline.txt');
  await writeFile(timelinePath, `${property} fails: ${example}\n\n${timeline}\n`);
  return { ok: true, property, runs: runs + 1, steps, before, after: sizeOf(current, final), scenarioPath, timelinePath, timeline, example, reproduce };
}

async function loadRunScenario(runDir: string): Promise<{ ok: true; scenario: Scenario; failed: string[] } | { ok: false; code: 'NOT_A_RUN'; message: string }> {
  let text: string;
  let summary: { properties?: Array<{ id: string; verdict: string }> };
  try {
    text = await readFile(join(runDir, 'scenario.yaml'), 'utf8');
    summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as typeof summary;
  } catch (error) {
    return { ok: false, code: 'NOT_A_RUN', message: `${runDir} is not a run directory with scenario.yaml and summary.json (${(error as Error).message})` };
  }
  const parsed = parseScenario(text, 'shrink');
  if (!parsed.ok) return { ok: false, code: 'NOT_A_RUN', message: `${runDir}/scenario.yaml is invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}` };
  // The property to keep failing by default is the likely root cause, not the first in catalogue order.
  const failed = failuresCausesFirst((summary.properties ?? []).map((p) => ({ id: p.id, name: p.id, verdict: p.verdict as PropertySummary['verdict'], violations: 0, example: null, examples: [] })));
  return { ok: true, scenario: parsed.scenario, failed: failed.map((p) => p.id) };
}

/** A candidate goes through the same validation as a file would (cross-field rules included). */
function revalidate(scenario: Scenario): Scenario | undefined {
  const parsed = parseScenario(scenarioYaml(scenario), scenario.name);
  return parsed.ok ? parsed.scenario : undefined;
}

function sizeOf(s: Scenario, run: PerformRunResult): Size {
  const chats = new Set<string>();
  for (const e of run.events ?? []) if (e.type === 'oracle' && e.what === 'member') chats.add(e.chat);
  return {
    phones: run.summary.metrics.phones || expectedPhones(s), users: s.population.users, chats: chats.size, faults: s.faults.length,
    durationMs: s.durationMs, messages: run.summary.metrics.messagesSent,
  };
}

export function describeSize(z: Size): string {
  return `${z.phones} phones, ${z.users} users, ${z.chats} chats, ${z.messages} messages, ${z.faults} faults, ${z.durationMs / 1000} s of load`;
}


