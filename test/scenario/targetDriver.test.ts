// Scenario `target.driver`: a built-in driver by name, or a driver module of the user's own by a
// path relative to the scenario file. The module fixture lives outside the source tree
// (test/fixtures/drivers/countingDriver.ts) and a short live run goes through it against the
// in-process cluster: its sessions are counted, messages flow, and what it declares absent
// (typing) makes the property that needs it unknown.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { checkRun } from '../../simulator/check/checkRun.ts';
import { runLive } from '../../simulator/engine/LiveRun.ts';
import { loadDriverFactory } from '../../simulator/engine/phoneDrivers.ts';
import { loadScenario, parseScenario } from '../../simulator/scenario/loadScenario.ts';
import { startHarness, type Harness } from '../support/harness.ts';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/drivers/counting-driver.yaml');
const MINIMAL = 'population: { users: 2 }\ndurationMs: 1s\n';

describe('scenario target.driver', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('names a built-in driver; an unknown name is refused with the built-in ones listed', () => {
    const xmpp = parseScenario(`${MINIMAL}target: { httpUrl: "http://127.0.0.1:1", driver: xmpp, driverOptions: { domain: localhost } }\n`, 't');
    expect(xmpp.ok && xmpp.scenario.target).toMatchObject({ driver: 'xmpp', driverOptions: { domain: 'localhost' } });
    const unknown = parseScenario(`${MINIMAL}target: { httpUrl: "http://127.0.0.1:1", driver: matrix }\n`, 't');
    expect(unknown.ok).toBe(false);
    expect(!unknown.ok && unknown.errors.map((e) => `${e.path}: ${e.message}`).join('\n')).toMatch(/target\.driver: unknown driver 'matrix'.*chatsim\.v1, xmpp/);
  });

  it('the simulation engine refuses a driver other than chatsim.v1', () => {
    const sim = parseScenario(`${MINIMAL}engine: sim\ntarget: { httpUrl: "http://127.0.0.1:1", driver: ./mine.ts }\n`, 't');
    expect(!sim.ok && sim.errors.some((e) => e.path === 'target.driver' && /engine: live/.test(e.message))).toBe(true);
  });

  it('resolves a module path against the scenario file; a module without a default factory is refused', async () => {
    const loaded = await loadScenario(FIXTURE);
    expect(loaded.ok && loaded.scenario.target?.driver).toBe(resolve(import.meta.dirname, '../fixtures/drivers/countingDriver.ts'));
    expect(await loadDriverFactory(resolve(import.meta.dirname, '../fixtures/drivers/nowhere.ts'))).toMatchObject({ ok: false, message: expect.stringMatching(/could not be loaded/) });
    expect(await loadDriverFactory(FIXTURE.replace('counting-driver.yaml', '../../support/harness.ts'))).toMatchObject({ ok: false, message: expect.stringMatching(/default-export a driver factory/) });
  });

  it('--driver (ScenarioOverrides.driver) replaces target.driver, named by the flag', async () => {
    const loaded = await loadScenario(FIXTURE, { driver: 'xmpp' });
    expect(loaded.ok && loaded.scenario.target?.driver).toBe('xmpp');
    const wrong = await loadScenario(FIXTURE, { driver: 'irc' });
    expect(!wrong.ok && wrong.errors[0]).toMatchObject({ path: 'target.driver' });
  });

  it('a live run goes through the module: its sessions counted, messages rendered, typing properties unknown', async () => {
    h = await startHarness();
    const loaded = await loadScenario(FIXTURE, { target: h.httpUrl });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const scenario = loaded.scenario;
    scenario.target!.adminToken = h.cluster.adminToken;
    const outcome = await runLive({ scenario, outDir: mkdtempSync(join(tmpdir(), 'chatsim-driver-')), time: createSystemTime(), workers: 1 });
    if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    const opens = outcome.encodedMetrics.reduce((n, m) => n + ((JSON.parse(m) as { counters: Record<string, number> }).counters['fixture.driver.opens'] ?? 0), 0);
    expect(opens).toBeGreaterThanOrEqual(outcome.phones);
    expect(outcome.events.some((e) => e.type === 'render')).toBe(true);
    expect(outcome.facts.driverCapabilities).toMatchObject({ typing: false, receipts: true });
    const results = checkRun(outcome.events, outcome.facts, { presenceDebounceMs: scenario.cluster.presenceDebounceMs, presenceTtlMs: 15_000, seed: scenario.seed, reproduce: 'r', checks: 'all' });
    const b7 = results.find((r) => r.id === 'B7');
    expect(b7).toMatchObject({ verdict: 'unknown', reason: expect.stringMatching(/typing/) });
  }, 60_000);
});
