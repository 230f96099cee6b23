// A phone worker thread that dies mid-run ends the run at once with WORKER_FAILED (its phones are
// gone: waiting out the rest of the load and the heal would only delay the verdict). The worker
// is killed by a driver module of its own (test/fixtures/drivers/crashingDriver.ts), which throws
// from a timer 1.5 s after its first session opens, in a scenario of 60 s load and 30 s heal.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { runLive, type RunProgress } from '../../simulator/engine/LiveRun.ts';
import { parseScenario } from '../../simulator/scenario/loadScenario.ts';
import { startHarness, type Harness } from '../support/harness.ts';

const DRIVER = resolve(import.meta.dirname, '../fixtures/drivers/crashingDriver.ts');

function scenarioText(httpUrl: string): string {
  return [
    'name: worker-failure', 'seed: 3',
    `target: { httpUrl: "${httpUrl}", driver: "${DRIVER}" }`,
    'population: { users: 6, directChatsPerUser: 2, friendsPerUser: 2 }',
    'load: { model: closed, ramp: [{ durationMs: 1s, target: 6 }], messagesPerMinute: 60 }',
    'network: [{ profile: good-4g, share: 1 }]',
    'durationMs: 60s', 'healMs: 30s', '',
  ].join('\n');
}

describe('a phone worker that dies mid-run', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('ends the run in its load phase with WORKER_FAILED naming the worker and its error', async () => {
    h = await startHarness();
    const parsed = parseScenario(scenarioText(h.httpUrl), 'worker-failure.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    parsed.scenario.target!.adminToken = h.cluster.adminToken;
    const phases: Array<RunProgress['phase']> = [];
    const outcome = await runLive({
      scenario: parsed.scenario, outDir: mkdtempSync(join(tmpdir(), 'chatsim-worker-failure-')), time: createSystemTime(), workers: 1,
      onProgress: (p) => phases.push(p.phase),
    });
    expect(outcome).toMatchObject({ ok: false, code: 'WORKER_FAILED', message: expect.stringMatching(/^worker 0: fixture\.crashing: the driver crashed its worker/) });
    // Ended while the load phase was still running: no progress line ever said heal or collect.
    expect(phases.length).toBeGreaterThan(0);
    expect(new Set(phases)).toEqual(new Set(['load']));
  }, 120_000);
});
