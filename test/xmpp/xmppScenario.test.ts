/**
 * scenarios/xmpp-flaky-mobile.yaml, scaled down (20 phones, 10 s of load, 10 s of heal), live
 * against a real ejabberd through `chatsim run`: provisioning over ejabberd's HTTP API
 * (EjabberdProvisioner), phones over XMPP (XmppDriver). It asserts the run completes with a
 * report in which every property is judged or unknown with its reason, and that the process
 * exits with the summary's exit code (0 or 1: ejabberd may fail properties, see docs/drivers.md;
 * never 3, a run that could not complete). ejabberd is started through scripts/ejabberd.sh as in
 * ejabberd.test.ts; without one the file is skipped with the reason, except with CI=true.
 *
 * scenarios/xmpp-restart.yaml (issue 17, restart-target) runs against a node of its own
 * (startPrivateEjabberd: its own scratch directory, node name and ports), since the run restarts
 * it: the shared node other tests use is never restarted. As shipped but for 30 phones and a
 * 20 s heal: the restart halfway through the load is one fault window from the restart to the
 * moment ejabberd answers again; every phone's session is lost with it, and the correct driver
 * (a fresh session, then MAM sync) fails no property.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEjabberd, startPrivateEjabberd, stopIfStarted, type EjabberdEndpoints, type PrivateEjabberd } from '../support/ejabberdRig.ts';
import { withHeavyRunLock } from '../support/heavyRunLock.ts';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const scenario = new URL('../../scenarios/xmpp-flaky-mobile.yaml', import.meta.url).pathname;
const restartScenario = new URL('../../scenarios/xmpp-restart.yaml', import.meta.url).pathname;
/** Generous: the run itself takes about 25 s; nothing here asserts time. */
const RUN_TIMEOUT_MS = 3 * 60_000;

const inCi = process.env.CI === 'true';
const ready = await ensureEjabberd();
const skipReason = ready.ok ? '' : `no ejabberd (${ready.reason}); start one with: bash scripts/ejabberd.sh start`;
if (!ready.ok && !inCi) console.warn(`[xmppScenario.test] skipped: ${skipReason}`);
if (!ready.ok && inCi) {
  describe('ejabberd', () => {
    it('is running or can be started (required when CI=true)', () => { throw new Error(`CI=true but ${skipReason}`); });
  });
}

async function run(args: string[], file = scenario, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'chatsim-xmpp-scenario-'));
  const child = spawn(process.execPath, [bin, 'run', file, '--dir', out, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  return { code: code as number, stdout, stderr, out };
}

interface SummaryProperty { id: string; verdict: string; reason?: string }

describe.skipIf(!ready.ok)('xmpp-flaky-mobile.yaml against ejabberd', () => {
  afterAll(async () => { await stopIfStarted(ready.ok ? ready.endpoints : (undefined as EjabberdEndpoints | undefined)); });

  it('runs to a report: every property judged or unknown with its reason, exit code as the summary says', async () => {
    const { code, stdout, stderr, out } = await withHeavyRunLock(() => run(['--phones', '20', '--duration', '10s', '--heal', '10s']));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { exitCode: number; runFailed?: unknown; properties: SummaryProperty[]; metrics: { phones: number; messagesAcked: number } };
    expect(summary.runFailed, stderr.slice(-2000)).toBeUndefined();
    expect([0, 1]).toContain(summary.exitCode);
    expect(code, stderr.slice(-2000)).toBe(summary.exitCode);
    expect(JSON.parse(stdout).exitCode).toBe(summary.exitCode);
    expect(summary.properties.length).toBeGreaterThan(0);
    for (const p of summary.properties) {
      expect(['pass', 'fail', 'unknown'], p.id).toContain(p.verdict);
      if (p.verdict === 'unknown') expect(p.reason, `${p.id} is unknown without a reason`).toBeTruthy();
    }
    expect(summary.metrics.phones).toBeGreaterThanOrEqual(15);
    expect(summary.metrics.messagesAcked).toBeGreaterThan(0);
  }, RUN_TIMEOUT_MS);
});

interface RestartSummary {
  exitCode: number;
  runFailed?: unknown;
  properties: Array<SummaryProperty & { examples: string[] }>;
  faults: Array<{ kind: string; startMs: number; endMs: number }>;
  faultsNotTaken?: unknown[];
  metrics: { phones: number; messagesAcked: number; reconnects: number };
}

describe.skipIf(!ready.ok)('xmpp-restart.yaml against an ejabberd of its own, restarted under load', () => {
  let node: PrivateEjabberd | undefined;
  let startFailure = '';
  beforeAll(async () => {
    const started = await startPrivateEjabberd('restart-test', { c2s: 28222, http: 28280, dist: 28290 });
    if (started.ok) node = started.node;
    else startFailure = started.reason;
  }, 300_000);
  afterAll(async () => { await node?.stop(); }, 120_000);

  it('ejabberd restarts mid-run; phones start fresh sessions and sync; every property judged (none fails) or unknown with its reason', async () => {
    expect(node, startFailure).toBeDefined();
    const { code, stderr, out } = await withHeavyRunLock(() => run(['--phones', '30', '--heal', '20s'], restartScenario, node!.env));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RestartSummary;
    expect(summary.runFailed, stderr.slice(-2000)).toBeUndefined();
    // The restart was played (not listed as not taken) and its window lasts until ejabberd answered again.
    expect(summary.faultsNotTaken, stderr.slice(-2000)).toBeUndefined();
    expect(summary.faults.map((f) => f.kind)).toEqual(['restart-target']);
    expect(summary.faults[0]!.endMs).toBeGreaterThan(summary.faults[0]!.startMs);
    // Every phone connected before the restart lost its session and came back.
    expect(summary.metrics.reconnects).toBeGreaterThanOrEqual(summary.metrics.phones / 2);
    const failing = summary.properties.filter((p) => p.verdict === 'fail').map((p) => `${p.id}: ${p.examples.slice(0, 2).join('; ')}`);
    expect(failing, stderr.slice(-2000)).toEqual([]);
    for (const p of summary.properties) if (p.verdict === 'unknown') expect(p.reason, `${p.id} is unknown without a reason`).toBeTruthy();
    expect(code, stderr.slice(-2000)).toBe(summary.exitCode);
    expect(summary.exitCode).toBe(0);
  }, 5 * 60_000);
});
