// A run whose file sets no seed and that gets no --seed draws one, runs with it, and prints it in
// the reproduce line, so the run can be repeated (docs/cli.md). Rerunning that line gives the same
// seed back.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;

async function chatsim(args: string[]): Promise<{ code: number; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  return { code: code as number, stderr };
}

describe('a run without --seed', () => {
  it('draws a seed, runs with it and prints it in the reproduce line; two runs draw different seeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatsim-seed-'));
    const file = join(dir, 'unseeded.yaml');
    writeFileSync(file, readFileSync(tiny, 'utf8').replace(/^seed: .*\n/m, '').replace('durationMs: 4s', 'durationMs: 2s').replace('healMs: 4s', 'healMs: 2s'));
    const seeds: number[] = [];
    for (const run of ['a', 'b']) {
      const out = join(dir, run);
      const { code, stderr } = await chatsim(['run', file, '--engine', 'sim', '--dir', out, '--quiet']);
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { seed: number; reproduce: string };
      expect(Number.isInteger(summary.seed)).toBe(true);
      expect(summary.reproduce).toBe(`chatsim run ${file} --engine sim --seed ${summary.seed}`);
      seeds.push(summary.seed);
    }
    expect(seeds[0]).not.toBe(seeds[1]);
  }, 120_000);
});
