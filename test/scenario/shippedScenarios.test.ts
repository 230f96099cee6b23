// Every shipped scenario runs and passes on the reference cluster. By default each runs scaled
// down (CHATSIM_SCENARIO_PHONES phones, a short load) so `npm test` stays quick on a laptop;
// CI sets CHATSIM_FULL_SCENARIOS=1 and runs them exactly as shipped.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const scenariosDir = new URL('../../scenarios/', import.meta.url).pathname;
const full = process.env.CHATSIM_FULL_SCENARIOS === '1';
const scaledArgs = ['--phones', process.env.CHATSIM_SCENARIO_PHONES ?? '200', '--duration', '25s'];
/** Generous: a full flaky-mobile takes about two minutes on 2 cores; nothing here asserts time. */
const RUN_TIMEOUT_MS = 6 * 60_000;

async function run(file: string): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'chatsim-scenario-'));
  const args = [bin, 'run', join(scenariosDir, file), '--out', out, '--json', ...(full ? [] : scaledArgs)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  return { code: code as number, stdout, stderr, out };
}

describe(`shipped scenarios (${full ? 'full size' : 'scaled down'})`, () => {
  const files = readdirSync(scenariosDir).filter((f) => f.endsWith('.yaml')).sort();
  for (const file of files) {
    it(`${file} runs and passes`, async () => {
      const { code, stdout, stderr, out } = await run(file);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      const failing = [
        ...summary.properties.filter((p: any) => p.verdict === 'fail').map((p: any) => `${p.id} ${p.name}: ${p.examples.slice(0, 3).join('; ')}`),
        ...summary.thresholds.filter((t: any) => !t.ok).map((t: any) => `${t.expression}: ${t.actual}`),
      ];
      expect(failing, stderr.slice(-2000)).toEqual([]);
      expect(code, stderr.slice(-2000)).toBe(0);
      expect(JSON.parse(stdout).verdict).toBe('pass');
      expect(summary.metrics.messagesAcked).toBeGreaterThan(0);
      expect(summary.metrics.deliveries).toBeGreaterThan(0);
    }, RUN_TIMEOUT_MS);
  }
});
