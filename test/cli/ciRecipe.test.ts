import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * docs/ci.md's recipe, run as written (the bash block is read from the doc): main keeps its
 * summary as the baseline; a branch with the same code passes against it; a branch whose
 * message store is slower (a latency wrapper on the store: the sim engine's store latency)
 * exits 2 naming the metric. Small and under the simulation engine, set through CHATSIM_*.
 */
const ROOT = join(import.meta.dirname, '..', '..');
let dir = '';
let recipe = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chatsim-ci-'));
  const doc = await readFile(join(ROOT, 'docs', 'ci.md'), 'utf8');
  recipe = /```bash\n(# chatsim CI recipe[\s\S]*?)```/.exec(doc)?.[1] ?? '';
  await writeFile(join(dir, 'recipe.sh'), recipe);
  const scenario = await readFile(join(ROOT, 'scenarios', 'flaky-mobile.yaml'), 'utf8');
  await writeFile(join(dir, 'same.yaml'), scenario);
  await writeFile(join(dir, 'slow-store.yaml'), `${scenario}\nsim:\n  portLatencyMs:\n    store: { min: 80, max: 120 }\n`);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function recipeRun(branch: string, scenario: string, runDir: string): Promise<{ code: number; stderr: string }> {
  const env = {
    ...process.env, NO_COLOR: '1', CI_BRANCH: branch, SCENARIO: join(dir, scenario), RUN_DIR: join(dir, runDir), BASELINE_DIR: join(dir, 'baseline'),
    CHATSIM_ENGINE: 'sim', CHATSIM_PHONES: '150', CHATSIM_DURATION: '30s', CHATSIM_HEAL: '30s',
  };
  return new Promise((resolve) => {
    execFile('bash', [join(dir, 'recipe.sh')], { cwd: ROOT, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
    });
  });
}

describe('docs/ci.md recipe', () => {
  it('is in the doc', () => {
    expect(recipe).toContain('--baseline');
  });

  it('main stores its baseline, the same code passes against it, a slower store fails with exit 2 naming the metric', async () => {
    const main = await recipeRun('main', 'same.yaml', 'main');
    expect(main.code, main.stderr).toBe(0);
    const baseline = JSON.parse(await readFile(join(dir, 'baseline', 'summary.json'), 'utf8')) as { seed: number };
    expect(baseline.seed).toBe(11);

    const same = await recipeRun('feature', 'same.yaml', 'same');
    expect(same.code, same.stderr).toBe(0);
    const sameComparison = JSON.parse(await readFile(join(dir, 'same', 'comparison.json'), 'utf8')) as { regressions: unknown[] };
    expect(sameComparison.regressions).toEqual([]);

    const slow = await recipeRun('feature', 'slow-store.yaml', 'slow');
    expect(slow.code, slow.stderr).toBe(2);
    expect(slow.stderr).toMatch(/regression\(s\) against the baseline: .*sendToAck p50/);
    const comparison = JSON.parse(await readFile(join(dir, 'slow', 'comparison.json'), 'utf8')) as { regressions: Array<{ metric: string }> };
    expect(comparison.regressions.map((r) => r.metric)).toContain('sendToAck p50');
  }, 600_000);
});
