// The determinism law of the simulation engine: the same seed, scenario and code give the
// same history, byte for byte. Runs the real cluster and phones on the virtual clock twice.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRun } from '../../simulator/check/checkRun.ts';
import { runSim } from '../../simulator/engine/sim/SimRun.ts';
import { loadScenario, parseScenario, type ScenarioOverrides } from '../../simulator/scenario/loadScenario.ts';
import type { Scenario } from '../../simulator/scenario/Scenario.ts';

const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;

async function simulate(overrides: ScenarioOverrides = {}) {
  const loaded = await loadScenario(tiny, { engine: 'sim', ...overrides });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return simulateScenario(loaded.scenario);
}

async function simulateScenario(scenario: Scenario) {
  const outcome = await runSim({ scenario, outDir: mkdtempSync(join(tmpdir(), 'chatsim-sim-')) });
  if (!outcome.ok) throw new Error(outcome.message);
  const text = outcome.events.map((e) => JSON.stringify(e)).join('\n');
  return { outcome, scenario, hash: createHash('sha256').update(text).digest('hex') };
}

/**
 * tiny.yaml with faults before the thresholds and a sim section at the end. The heal is 20 s, not
 * 4 s: a sync answer the broker lost is asked again only after the phone's 15 s sync timeout.
 */
function tinyWith(faults: string, sim: string): Scenario {
  const text = readFileSync(tiny, 'utf8').replace('healMs: 4s', 'healMs: 20s').replace('thresholds:', `faults:\n${faults}\nthresholds:`) + sim;
  const parsed = parseScenario(text, 'tiny', { engine: 'sim' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.scenario;
}

const SIM_FAULTS = [
  '  - { atMs: 800ms, kind: pause-chat-server, chatServer: 0, forMs: 1500ms }',
  '  - { atMs: 1200ms, kind: lose-broker-messages, share: 0.3, forMs: 2s }',
  '  - { atMs: 2s, kind: pause-chat-server, chatServer: 1, forMs: 500ms }',
].join('\n');
const SLOW_MACHINES = 'sim:\n  clockSkewMs: 300\n  portLatencyMs:\n    store: { min: 2, max: 12 }\n    broker: { min: 1, max: 6 }\n    queue: { min: 0, max: 4 }\n';

describe('simulation engine', () => {
  it('gives the same history byte for byte for the same seed, and another for another seed', async () => {
    const first = await simulate();
    const second = await simulate();
    expect(first.outcome.events.length).toBeGreaterThan(500);
    expect(first.outcome.events.some((e) => e.type === 'render')).toBe(true);
    expect(second.hash).toBe(first.hash);
    const other = await simulate({ seed: 8 });
    expect(other.hash).not.toBe(first.hash);
  });

  it('runs the correct cluster to a passing verdict, and an injected bug to a failing one', async () => {
    const correct = await simulate();
    const verdicts = checkRun(correct.outcome.events, correct.outcome.facts, { presenceDebounceMs: correct.scenario.cluster.presenceDebounceMs, seed: 7, reproduce: 'r', checks: 'all' });
    expect(verdicts.filter((p) => p.verdict === 'fail').map((p) => `${p.id}: ${p.examples[0]}`)).toEqual([]);
    const bugged = await simulate({ bugs: ['route-to-every-gateway'] });
    const failed = checkRun(bugged.outcome.events, bugged.outcome.facts, { presenceDebounceMs: bugged.scenario.cluster.presenceDebounceMs, seed: 7, reproduce: 'r', checks: 'all' });
    expect(failed.find((p) => p.id === 'A10')?.verdict).toBe('fail');
  });

  it('with paused chat servers, lost broker messages, skewed clocks and slow ports: the same history twice, and a passing verdict', async () => {
    const scenario = tinyWith(SIM_FAULTS, SLOW_MACHINES);
    const first = await simulateScenario(scenario);
    const second = await simulateScenario(tinyWith(SIM_FAULTS, SLOW_MACHINES));
    expect(second.hash).toBe(first.hash);
    const started = first.outcome.events.filter((e) => e.type === 'oracle' && e.what === 'fault-start').map((e) => (e as { fault: string }).fault);
    expect(started).toEqual(['pause-chat-server', 'lose-broker-messages', 'pause-chat-server']);
    expect(first.outcome.faults.map((f) => [f.kind, f.startMs, f.endMs])).toEqual([
      ['pause-chat-server', 800, 2300], ['pause-chat-server', 2000, 2500], ['lose-broker-messages', 1200, 3200],
    ]);
    const plain = await simulate();
    expect(first.hash).not.toBe(plain.hash);
    const verdicts = checkRun(first.outcome.events, first.outcome.facts, { presenceDebounceMs: scenario.cluster.presenceDebounceMs, seed: 7, reproduce: 'r', checks: 'all' });
    expect(verdicts.filter((p) => p.verdict === 'fail').map((p) => `${p.id}: ${p.examples[0]}`)).toEqual([]);
    expect(verdicts.find((p) => p.id === 'A5')?.verdict).toBe('pass');
  });

  it('is shaped by the sim section: no skew and no latency give another history than the defaults', async () => {
    const idealMachines = 'sim:\n  clockSkewMs: 0\n  portLatencyMs:\n' + ['store', 'broker', 'queue', 'presence', 'directory'].map((p) => `    ${p}: { min: 0, max: 0 }\n`).join('');
    const ideal = await simulateScenario(parseIdeal(idealMachines));
    const defaults = await simulate();
    expect(ideal.hash).not.toBe(defaults.hash);
    expect((await simulateScenario(parseIdeal(idealMachines))).hash).toBe(ideal.hash);
  });
});

function parseIdeal(sim: string): Scenario {
  const parsed = parseScenario(readFileSync(tiny, 'utf8') + sim, 'tiny', { engine: 'sim' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.scenario;
}
