// Must-show of the bug catalogue: for every injectable bug, its small seeded scenario in
// scenarios/bugs/ passes every property on the correct cluster (exit 0) and, with the bug
// injected, fails the property the catalogue says it breaks (exit 1, summary.json marks it
// failed, with examples that name events). Twenty live runs of about 40 s each, two at a
// time: about seven minutes on 2 cores, so they run when CI is set (CI does) or with
// CHATSIM_FULL_SCENARIOS=1, like the shipped scenarios.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUG_CATALOGUE, type BugName } from '../../server/bugs/BugCatalogue.ts';
import { withHeavyRunLock } from '../support/heavyRunLock.ts';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const bugsDir = new URL('../../scenarios/bugs/', import.meta.url).pathname;
const enabled = process.env.CHATSIM_FULL_SCENARIOS === '1' || Boolean(process.env.CI);
const RUNS_AT_ONCE = 2;
const ALL_RUNS_TIMEOUT_MS = 20 * 60_000;

interface RunResult {
  code: number;
  stderr: string;
  summary: { verdict: string; reproduce: string; properties: Array<{ id: string; name: string; verdict: string; examples: string[] }> } | undefined;
}

async function run(bug: BugName, inject: boolean): Promise<RunResult> {
  const out = mkdtempSync(join(tmpdir(), `chatsim-bug-${bug}-`));
  const args = [bin, 'run', join(bugsDir, `${bug}.yaml`), '--out', out, '--json', '--checks', 'all', ...(inject ? ['--inject-bug', bug] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  let summary: RunResult['summary'];
  try {
    summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  } catch {
    summary = undefined;
  }
  return { code: code as number, stderr, summary };
}

async function runAll(jobs: Array<() => Promise<void>>, atOnce: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: atOnce }, lane));
}

const failing = (r: RunResult): string[] =>
  (r.summary?.properties ?? []).filter((p) => p.verdict === 'fail').map((p) => `${p.id} ${p.name}: ${p.examples.slice(0, 2).join('; ')}`);

describe.runIf(enabled)('bug catalogue: each bug fails its property on its scenario; the correct cluster passes', () => {
  const results = new Map<string, RunResult>();
  beforeAll(async () => {
    const jobs = BUG_CATALOGUE.flatMap((b) => [true, false].map((inject) => async () => {
      results.set(`${b.name}:${inject}`, await run(b.name, inject));
    }));
    await withHeavyRunLock(() => runAll(jobs, RUNS_AT_ONCE));
  }, ALL_RUNS_TIMEOUT_MS);

  for (const bug of BUG_CATALOGUE) {
    it(`${bug.name}: the correct cluster passes every property (exit 0)`, () => {
      const r = results.get(`${bug.name}:false`)!;
      expect(failing(r), r.stderr.slice(-2000)).toEqual([]);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(r.summary?.verdict).toBe('pass');
    });

    it(`${bug.name}: injected, it fails ${bug.breaks[0]} with examples that name events (exit 1)`, () => {
      const r = results.get(`${bug.name}:true`)!;
      expect(r.code, `${failing(r).join('\n')}\n${r.stderr.slice(-2000)}`).toBe(1);
      expect(r.summary?.verdict).toBe('fail');
      const expected = r.summary!.properties.find((p) => p.id === bug.breaks[0]);
      expect(expected?.verdict, failing(r).join('\n')).toBe('fail');
      expect(expected!.examples.length).toBeGreaterThan(0);
      // An explanation names a device or user and a time, not just a count.
      expect(expected!.examples[0]).toMatch(/\bu\d+\b/);
      expect(expected!.examples[0]).toMatch(/\d+\.\d{3} s/);
      expect(r.summary!.reproduce).toContain(`--inject-bug ${bug.name}`);
    });
  }
});
