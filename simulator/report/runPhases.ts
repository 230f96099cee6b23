import type { HistoryEvent } from '../history/HistoryEvent.ts';
import type { Scenario } from '../scenario/Scenario.ts';
import type { RunPhase } from '../types/runTypes.ts';

/**
 * The phases of a run on its timeline, from the harness's phase marks in the history (so they
 * are where the engine really switched, not where the scenario planned it): `ramp` while a
 * closed-model scenario's phones are still connecting (up to the end of the first stage that
 * reaches the highest target), `load` until the heal began, then `heal` (no new load, faults
 * over, everything converges) until the run was done.
 */
export function runPhases(scenario: Pick<Scenario, 'load' | 'durationMs' | 'healMs'>, events: readonly HistoryEvent[]): RunPhase[] {
  const marks = new Map<string, number>();
  for (const e of events) if (e.type === 'oracle' && e.what === 'phase' && !marks.has(e.phase)) marks.set(e.phase, e.t);
  const loadStartMs = marks.get('load') ?? 0;
  const healStartMs = marks.get('heal') ?? loadStartMs + scenario.durationMs;
  const doneMs = marks.get('done') ?? healStartMs + scenario.healMs;
  const phases: RunPhase[] = [];
  const rampEndMs = Math.min(healStartMs, loadStartMs + rampEnd(scenario.load));
  if (rampEndMs > loadStartMs) phases.push({ name: 'ramp', startMs: loadStartMs, endMs: rampEndMs });
  if (healStartMs > rampEndMs) phases.push({ name: 'load', startMs: Math.max(loadStartMs, rampEndMs), endMs: healStartMs });
  if (doneMs > healStartMs) phases.push({ name: 'heal', startMs: healStartMs, endMs: doneMs });
  return phases;
}

function rampEnd(load: Scenario['load']): number {
  if (load.model !== 'closed' || load.ramp.length === 0) return 0;
  const highest = Math.max(...load.ramp.map((stage) => stage.target));
  let atMs = 0;
  for (const stage of load.ramp) {
    atMs += stage.durationMs;
    if (stage.target >= highest) return atMs;
  }
  return atMs;
}
