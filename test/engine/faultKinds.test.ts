// Issue 16: one registry of fault kinds (simulator/faults/faultKinds.ts), played by both engines
// and drawn by the swarm; the swarm draws every kind, restart-presence-store included.
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, applyFault } from '../../simulator/faults/faultKinds.ts';
import { drawScenario } from '../../simulator/swarm/drawScenario.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';

describe('fault kinds', () => {
  it('the swarm draws every kind of the registry within 200 seeds, except a target\'s (restart-target: the swarm plays the reference cluster)', () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) for (const f of drawScenario(seed).scenario.faults) kinds.add(f.kind);
    expect([...kinds].sort()).toEqual(Object.entries(FAULT_KINDS).filter(([, k]) => k.requires !== 'target-restart').map(([kind]) => kind).sort());
  });

  it('a fault that needs a cluster is not taken, with a line, against --target (test/engine/faultsNotTaken.test.ts: the summary)', async () => {
    const lines: string[] = [];
    const endMs = await applyFault({ atMs: 1000, kind: 'store-outage', forMs: 500 }, { cluster: undefined, target: { name: '--target http://x' }, time: new ManualTime(0), log: (l) => lines.push(l) });
    expect(endMs).toBeUndefined();
    expect(lines).toEqual(['fault store-outage not taken: --target http://x: store-outage needs the reference cluster (a target chatsim did not start has no such part to fault)']);
  });
});
