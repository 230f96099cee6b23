// Every shipped scenario runs and passes on the reference cluster, exactly as shipped. Together
// they take about seven minutes on 2 cores, so they run when CI is set (CI does) or with
// CHATSIM_FULL_SCENARIOS=1 (`npm run test:scenarios`); a plain local `npm test` skips them and
// says so. test/cli/run.test.ts runs a small scenario end to end in every `npm test`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withHeavyRunLock } from '../support/heavyRunLock.ts';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const scenariosDir = new URL('../../scenarios/', import.meta.url).pathname;
const enabled = process.env.CHATSIM_FULL_SCENARIOS === '1' || Boolean(process.env.CI);
/** Generous: a full flaky-mobile takes about two minutes on 2 cores; nothing here asserts time. */
const RUN_TIMEOUT_MS = 6 * 60_000;

async function run(file: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'chatsim-scenario-'));
  const args = [bin, 'run', join(scenariosDir, file), '--dir', out, '--json', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  return { code: code as number, stdout, stderr, out };
}

/** Every failed property (with its first examples) and failed threshold of a summary.json. */
function failingOf(summary: any): string[] {
  return [
    ...summary.properties.filter((p: any) => p.verdict === 'fail').map((p: any) => `${p.id} ${p.name}: ${p.examples.slice(0, 3).join('; ')}`),
    ...summary.thresholds.filter((t: any) => !t.ok).map((t: any) => `${t.expression}: ${t.actual}`),
  ];
}

describe.runIf(enabled)('shipped scenarios, as shipped', () => {
  // xmpp-flaky-mobile and xmpp-restart judge an ejabberd (not the reference cluster) and need one:
  // test/xmpp/xmppScenario.test.ts runs them (xmpp-restart on a node of its own, which it
  // restarts), and docs/drivers.md records what they fail and why.
  const files = readdirSync(scenariosDir).filter((f) => f.endsWith('.yaml') && !f.startsWith('xmpp-')).sort();
  for (const file of files) {
    it(`${file} runs and passes`, async () => {
      const { code, stdout, stderr, out } = await withHeavyRunLock(() => run(file));
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(failingOf(summary), stderr.slice(-2000)).toEqual([]);
      expect(code, stderr.slice(-2000)).toBe(0);
      expect(JSON.parse(stdout).verdict).toBe('pass');
      expect(summary.metrics.messagesAcked).toBeGreaterThan(0);
      expect(summary.metrics.deliveries).toBeGreaterThan(0);
    }, RUN_TIMEOUT_MS);
  }
});

// Issue 5, must-show 3, and issues 14-16: every shipped scenario of the reference cluster also
// passes as shipped in the simulation engine (the live runs are above, under CI). All six take
// about a minute together (flaky-mobile's 2,000 phones for 60 + 15 simulated seconds about 15 s),
// so they run in every `npm test`. In sim, chat-server-kill's multi-process cluster is the
// in-process one over the virtual clock (the sim engine has no processes).
describe('shipped scenarios in the simulation engine', () => {
  const files = readdirSync(scenariosDir).filter((f) => f.endsWith('.yaml') && !f.startsWith('xmpp-')).sort();
  for (const file of files) {
    it(`${file} --engine sim runs and passes every property`, async () => {
      const { code, stdout, stderr, out } = await withHeavyRunLock(() => run(file, ['--engine', 'sim']));
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(failingOf(summary), stderr.slice(-2000)).toEqual([]);
      expect(code, stderr.slice(-2000)).toBe(0);
      expect(summary.engine).toBe('sim');
      expect(JSON.parse(stdout).verdict).toBe('pass');
      expect(summary.metrics.messagesAcked).toBeGreaterThan(0);
      expect(summary.metrics.deliveries).toBeGreaterThan(0);
      if (file === 'flaky-mobile.yaml') expect(summary.metrics.phones).toBeGreaterThan(1_900);
    }, RUN_TIMEOUT_MS);
  }
});

// Issue 6, must-shows 2 to 4: the same scenario files, as shipped, on the multi-process cluster
// (a process per gateway and chat server slot plus the API, over a Redis of the run's own and the
// Cassandra node at CHATSIM_CASSANDRA or 127.0.0.1:9042, which CI starts). chat-server-kill.yaml
// is multi-process by itself and runs in the list above.
describe.runIf(enabled)('shipped scenarios on the multi-process Redis + Cassandra cluster', () => {
  const cassandra = process.env.CHATSIM_CASSANDRA ?? '127.0.0.1:9042';
  // Under CI, rolling-restart and flaky-mobile run scaled down (500 phones) to keep CI well under
  // its hour; `npm run test:scenarios` (CHATSIM_FULL_SCENARIOS=1, the opt-in lane) runs every
  // scenario of the reference cluster as shipped, at full size. At full size they failed their
  // latency thresholds on a machine loaded by other sessions (docs/performance.md, "The
  // multi-process cluster on Redis and Cassandra"); as shipped they passed again on 2026-12-07
  // (the table there), group-fanout once typing frames that waited past typingNoticeAgeMaxMs were
  // no longer announced.
  const asShipped = process.env.CHATSIM_FULL_SCENARIOS === '1';
  const scaled = (phones: number): string[] => (asShipped ? [] : ['--phones', String(phones)]);
  const cases: Array<{ file: string; why: string; extra?: string[]; check?: (summary: any) => void }> = [
    {
      file: 'rolling-restart.yaml', why: `${asShipped ? '1,000' : '500 (scaled)'} phones; chat server processes restarted gracefully, then SIGKILLed, under load`, extra: scaled(500),
      // No WebSocket closed by the restarts: not one reconnect.
      check: (summary) => expect([summary.metrics.phones, summary.metrics.reconnects]).toEqual([asShipped ? 1_000 : 500, 0]),
    },
    {
      file: 'reconnect-storm.yaml', why: '2,000 phones; a gateway process SIGKILLed under load: its phones reconnect to the other and sync',
      check: (summary) => expect(summary.metrics.reconnects).toBeGreaterThan(500),
    },
    {
      file: 'flaky-mobile.yaml', why: `the main job, ${asShipped ? '2,026' : '500 (scaled)'} phones`, extra: scaled(500),
      check: (summary) => expect(summary.metrics.phones).toBeGreaterThan(asShipped ? 1_900 : 480),
    },
    ...(asShipped ? [
      { file: 'group-fanout.yaml', why: '1,200 phones in groups of 200-1,000 members', check: (summary: any) => expect(summary.metrics.deliveries).toBeGreaterThan(10_000) },
      { file: 'presence-flap.yaml', why: '1,000 phones flapping their links', check: (summary: any) => expect(summary.metrics.reconnects).toBeGreaterThan(500) },
    ] : []),
  ];
  for (const { file, why, extra, check } of cases) {
    it(`${file} --processes multi runs and passes (${why})`, async () => {
      const { code, stdout, stderr, out } = await withHeavyRunLock(() => run(file, ['--processes', 'multi', '--cassandra', cassandra, ...(extra ?? [])]));
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(failingOf(summary), stderr.slice(-2000)).toEqual([]);
      expect(code, stderr.slice(-2000)).toBe(0);
      expect(JSON.parse(stdout).verdict).toBe('pass');
      expect(readdirSync(join(out, 'nodes')).filter((f) => f.startsWith('cs')).length).toBeGreaterThan(0);
      check?.(summary);
    }, RUN_TIMEOUT_MS);
  }
});
