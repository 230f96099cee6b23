// Issue 14, must-show 3, for clocks and sync modes of the scenario language: wall clocks that are
// skewed and jump (phones and chat servers) and devices that sync by token. Each runs on both
// engines; the correct cluster passes every property under it and a matching injected bug fails
// the property it breaks (the bug scenarios of scenarios/bugs/, whose live runs are in
// test/bugs/bugScenarios.test.ts under CI).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { ChatServerClocks, phoneClockSpec, ScheduledClock } from '../../simulator/engine/clocks.ts';
import { performRun } from '../../simulator/engine/performRun.ts';
import { parseScenario, type ScenarioOverrides } from '../../simulator/scenario/loadScenario.ts';

const time = createSystemTime();
const bugScenario = (name: string): string => readFileSync(new URL(`../../scenarios/bugs/${name}.yaml`, import.meta.url), 'utf8');

interface Outcome {
  failed: string[];
  verdicts: Map<string, string>;
  examples: string[];
}

async function run(yaml: string, overrides: ScenarioOverrides = {}): Promise<Outcome> {
  const parsed = parseScenario(yaml, 'clocks', overrides);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
  const outDir = mkdtempSync(join(tmpdir(), 'clocks-'));
  const result = await performRun({ file: 'clocks.yaml', scenario: parsed.scenario, outDir, reproduce: '', checks: 'all', time, workers: 1 });
  if (result.summary.runFailed) throw new Error(`${result.summary.runFailed.code}: ${result.summary.runFailed.message}`);
  const failed = result.properties.filter((p) => p.verdict === 'fail');
  return {
    failed: failed.map((p) => p.id), verdicts: new Map(result.properties.map((p) => [p.id, p.verdict])),
    examples: failed.flatMap((p) => p.examples.slice(0, 2).map((x) => `${p.id}: ${x}`)),
  };
}

describe('clocks and sync modes, simulation engine: the correct cluster passes, the matching bug fails', () => {
  const cases = [
    { feature: 'token-mode sync (population.tokenSyncShare)', scenario: 'token-sync-off-by-one', bug: 'token-sync-off-by-one', breaks: 'C2' },
    { feature: 'chat server clocks skewed and jumping forward (clocks.chatServerSkewMs, clock-jump chat-servers)', scenario: 'presence-wall-clock', bug: 'presence-wall-clock', breaks: 'D1' },
    { feature: 'phone clocks skewed and jumping back (clocks.phoneSkewMs, clock-jump phones)', scenario: 'phone-wall-clock-presence', bug: 'phone-wall-clock-presence', breaks: 'D4' },
  ];
  for (const { feature, scenario, bug, breaks } of cases) {
    it(`${feature}: correct passes; ${bug} fails ${breaks}`, async () => {
      const correct = await run(bugScenario(scenario), { engine: 'sim' });
      expect(correct.failed, correct.examples.join('\n')).toEqual([]);
      if (breaks === 'C2') expect(correct.verdicts.get('C2')).toBe('pass'); // judged, not unknown
      const bugged = await run(bugScenario(scenario), { engine: 'sim', bugs: [bug] });
      expect(bugged.failed, bugged.examples.join('\n')).toContain(breaks);
    }, 120_000);
  }
});

describe('clocks and sync modes, live engine (in-process cluster, real sockets)', () => {
  it('phones and chat servers with skewed clocks that jump both ways, half the devices syncing by token: every property passes and C2 is judged', async () => {
    const yaml = bugScenario('token-sync-off-by-one')
      .replace('durationMs: 20s', 'durationMs: 10s').replace('healMs: 15s', 'healMs: 12s')
      .replace('population:', 'clocks: { phoneSkewMs: 30000, chatServerSkewMs: 2000 }\nfaults:\n  - { atMs: 3s, kind: clock-jump, target: chat-servers, byMs: 600000 }\n  - { atMs: 4s, kind: clock-jump, target: phones, byMs: -600000, share: 0.5 }\n  - { atMs: 6s, kind: clock-jump, target: chat-servers, chatServer: 1, byMs: -1200000 }\npopulation:');
    const correct = await run(yaml, { engine: 'live' });
    expect(correct.failed, correct.examples.join('\n')).toEqual([]);
    expect(correct.verdicts.get('C2')).toBe('pass');
  }, 120_000);
});

describe('clock wrappers', () => {
  it('a phone clock is its skew off, plus each jump from its time on; a chat server slot keeps its clock and steps', () => {
    const base = new ManualTime(1_000_000);
    const clock = new ScheduledClock(base, 1_000_000, { skewMs: 500, jumps: [{ atMs: 2000, byMs: -60_000 }, { atMs: 1000, byMs: 10_000 }] });
    expect(clock.nowMs()).toBe(1_000_500);
    base.advance(1000);
    expect(clock.nowMs()).toBe(1_011_500);
    base.advance(1000);
    expect(clock.nowMs()).toBe(952_500); // 1,002,000 + 500 + 10,000 - 60,000: the clock went back
    const slots = new ChatServerClocks(base, new SeededRandom(1), 2, 0);
    const first = slots.forSlot({ index: 1, id: 'cs2' });
    slots.step({ atMs: 0, kind: 'clock-jump', target: 'chat-servers', byMs: 5000, chatServer: 1 });
    expect(first.nowMs()).toBe(base.nowMs() + 5000);
    expect(slots.forSlot({ index: 1, id: 'cs9' })).toBe(first); // a restarted server keeps its slot's clock
    expect(slots.forSlot({ index: 0, id: 'cs1' }).nowMs()).toBe(base.nowMs());
    slots.step({ atMs: 0, kind: 'clock-jump', target: 'chat-servers', byMs: -7000 });
    expect(first.nowMs()).toBe(base.nowMs() - 2000);
    expect(slots.forSlot({ index: 0, id: 'cs1' }).nowMs()).toBe(base.nowMs() - 7000);
  });

  it('a phone jump with a share reaches about that share of devices, the same ones for a seed', () => {
    const yaml = bugScenario('phone-wall-clock-presence').replaceAll('byMs: -600000 }', 'byMs: -600000, share: 0.5 }');
    const parsed = parseScenario(yaml, 'x');
    if (!parsed.ok) throw new Error('invalid');
    const devices = Array.from({ length: 400 }, (_, i) => `u${i}/d1`);
    // Each jump is drawn per device on its own: count the devices that take the first one.
    const jumped = (seed: number): string[] => devices.filter((d) => phoneClockSpec(parsed.scenario, d, new SeededRandom(seed).fork('clocks'))?.jumps.some((j) => j.atMs === 5000));
    expect(jumped(3).length).toBeGreaterThan(150);
    expect(jumped(3).length).toBeLessThan(250);
    expect(jumped(3)).toEqual(jumped(3));
  });
});

describe('the scenario loader on clocks and sync modes', () => {
  const base = bugScenario('presence-wall-clock');
  it('refuses a jump of 0, fields of the other target, and chat server clocks it cannot set (CLOCK_NOT_SETTABLE)', () => {
    const bad = parseScenario(base.replace('byMs: 600000 }', 'byMs: 0, share: 0.5 }'), 'x');
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => e.path)).toEqual(expect.arrayContaining(['faults[0].byMs', 'faults[0].share']));
    expect(parseScenario(base.replace('  chatServers: 2\n', '  chatServers: 2\n  processes: multi\n'), 'x').ok).toBe(true);
    const target = parseScenario(base.replace(/^cluster:[\s\S]*?^clocks:/m, 'target: { httpUrl: "http://127.0.0.1:9" }\nclocks:'), 'x');
    expect(target.ok).toBe(false);
    if (target.ok) return;
    expect(target.errors.filter((e) => e.code === 'CLOCK_NOT_SETTABLE').map((e) => e.path).sort()).toEqual(['clocks.chatServerSkewMs', 'faults[0].target']);
  });

  it('reads tokenSyncShare and clocks, with defaults of 0', () => {
    const parsed = parseScenario(bugScenario('token-sync-off-by-one'), 'x');
    expect(parsed.ok && parsed.scenario.population.tokenSyncShare).toBe(0.5);
    expect(parsed.ok && parsed.scenario.clocks).toEqual({ phoneSkewMs: 0, chatServerSkewMs: 0 });
    const clocks = parseScenario(base, 'x');
    expect(clocks.ok && clocks.scenario.clocks).toEqual({ phoneSkewMs: 0, chatServerSkewMs: 3000 });
    expect(clocks.ok && clocks.scenario.faults[0]).toEqual({ atMs: 4000, kind: 'clock-jump', target: 'chat-servers', byMs: 600000 });
  });
});
