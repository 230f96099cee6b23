// Issue 14: the correct cluster must pass its own checks under every fault the swarm can draw.
// Every `npm test` runs a fixed block of seeds in the simulation engine (a seed is about half a
// second of CPU) and fails on any failing seed, naming each with the line that replays it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { runSwarm, type SeedResult } from '../../simulator/swarm/runSwarm.ts';

/** The fixed block: seeds SWARM_BLOCK_FROM .. SWARM_BLOCK_FROM + SWARM_BLOCK_SEEDS - 1. */
const SWARM_BLOCK_FROM = 1;
const SWARM_BLOCK_SEEDS = 500;

/** One line per failing seed: what failed, the first example, and how to replay it. */
function failureReport(failing: readonly SeedResult[]): string {
  const perProperty = new Map<string, number>();
  for (const r of failing) for (const id of r.failed.length > 0 ? r.failed : ['run error']) perProperty.set(id, (perProperty.get(id) ?? 0) + 1);
  const counts = [...perProperty].map(([id, n]) => `${id} ${n}`).join(', ');
  const lines = failing.map((r) => `seed ${r.seed} ${r.verdict} [${r.faults.join(', ')}] ${r.failed.join(',')}: ${r.example ?? ''}\n  replay: node bin/chatsim.js sim --seeds 1 --from ${r.seed}`);
  return `${failing.length} failing seed(s); per property: ${counts}\n${lines.join('\n')}`;
}

// In every npm test since issue 14's fixes (seeds 1-500 all pass). Measured: 415 s of test time,
// 100 s user + 33 s system CPU, on the shared 2-core machine at a load average of 16-22 (about 2.5
// min on an idle core); CHATSIM_SWARM_BLOCK=0 skips it for a quick local run, and npm run
// test:swarm runs it alone.
const RUN_BLOCK = process.env.CHATSIM_SWARM_BLOCK !== '0';
if (!RUN_BLOCK) console.warn('swarmBlock: skipped (CHATSIM_SWARM_BLOCK=0)');

describe.skipIf(!RUN_BLOCK)(`chatsim sim: a fixed block of ${SWARM_BLOCK_SEEDS} seeds on the correct cluster`, () => {
  it(`seeds ${SWARM_BLOCK_FROM}..${SWARM_BLOCK_FROM + SWARM_BLOCK_SEEDS - 1} all pass every property`, async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'swarm-block-'));
    const results = await runSwarm({ from: SWARM_BLOCK_FROM, seeds: SWARM_BLOCK_SEEDS, bugs: [], outDir, time: createSystemTime() });
    expect(results).toHaveLength(SWARM_BLOCK_SEEDS);
    const failing = results.filter((r) => r.verdict !== 'pass');
    if (failing.length > 0) console.error(failureReport(failing));
    expect(failing.map((r) => r.seed), failing.length > 0 ? failureReport(failing) : '').toEqual([]);
  }, 3_600_000);
});
