// Issue 14, must-show 3, for chat server clocks on the multi-process cluster: each chat server
// node's wall clock starts at its slot's skew and a clock-jump steps it over IPC. The correct
// cluster passes every property under a ten-minute jump forward; the bug presence-wall-clock
// (presence answers aged on the chat server's own clock) fails D1 there.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CASSANDRA } from '../../server/cassandra/client.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { performRun } from '../../simulator/engine/performRun.ts';
import { parseScenario } from '../../simulator/scenario/loadScenario.ts';
import { cassandraUnreachable } from '../contracts/helpers.ts';
import { withHeavyRunLock } from '../support/heavyRunLock.ts';

const time = createSystemTime();
const contactPoint = process.env.CHATSIM_CASSANDRA ?? DEFAULT_CASSANDRA;
const inCi = process.env.CI === 'true';
const unreachable = await cassandraUnreachable(contactPoint);

/** scenarios/bugs/presence-wall-clock.yaml on the multi-process cluster, shorter. */
function yaml(): string {
  return readFileSync(new URL('../../scenarios/bugs/presence-wall-clock.yaml', import.meta.url), 'utf8')
    .replace('  chatServers: 2\n', `  chatServers: 2\n  processes: multi\n  cassandra: ${contactPoint}\n`)
    .replace('durationMs: 20s', 'durationMs: 14s').replace('healMs: 15s', 'healMs: 20s');
}

async function run(bugs: string[]): Promise<{ failed: string[]; examples: string[]; log: string[] }> {
  const parsed = parseScenario(yaml(), 'clocks-multi', { bugs });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
  const log: string[] = [];
  const result = await performRun({
    file: 'clocks-multi.yaml', scenario: parsed.scenario, outDir: mkdtempSync(join(tmpdir(), 'clocks-multi-')),
    reproduce: '', checks: 'all', time, workers: 1, onLog: (line) => log.push(line),
  });
  if (result.summary.runFailed) throw new Error(`${result.summary.runFailed.code}: ${result.summary.runFailed.message}`);
  const failed = result.properties.filter((p) => p.verdict === 'fail');
  return { failed: failed.map((p) => p.id), examples: failed.flatMap((p) => p.examples.slice(0, 2).map((x) => `${p.id}: ${x}`)), log };
}

describe.skipIf(unreachable !== undefined && !inCi)(`chat server clocks on the multi-process cluster${unreachable ? ` (skipped: no Cassandra at ${contactPoint}: ${unreachable})` : ''}`, () => {
  it('skewed chat server nodes whose clocks jump ten minutes ahead: the correct cluster passes, presence-wall-clock fails D1', async () => {
    const correct = await withHeavyRunLock(() => run([]));
    expect(correct.examples.join('\n')).toBe('');
    expect(correct.log.some((l) => /wall clock of every chat server jumps \+600000 ms/.test(l))).toBe(true);
    const bugged = await withHeavyRunLock(() => run(['presence-wall-clock']));
    expect(bugged.failed, bugged.examples.join('\n')).toContain('D1');
  }, 600_000);
});
