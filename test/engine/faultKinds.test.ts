// Issue 16: one registry of fault kinds (simulator/faults/faultKinds.ts), played by both engines
// and drawn by the swarm; the swarm draws every kind, restart-presence-store included.
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, applyFault } from '../../simulator/faults/faultKinds.ts';
import { drawScenario } from '../../simulator/swarm/drawScenario.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';

describe('fault kinds', () => {
  it('the swarm draws every kind of the registry within 200 seeds', () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) for (const f of drawScenario(seed).scenario.faults) kinds.add(f.kind);
    expect([...kinds].sort()).toEqual(Object.keys(FAULT_KINDS).sort());
  });

  it('a fault that needs a cluster is skipped, with a line, against --target', async () => {
    const lines: string[] = [];
    const endMs = await applyFault({ atMs: 1000, kind: 'store-outage', forMs: 500 }, { cluster: undefined, time: new ManualTime(0), log: (l) => lines.push(l) });
    expect(endMs).toBeUndefined();
    expect(lines).toEqual(['fault store-outage skipped: faults need a cluster started by chatsim, not --target']);
  });
});
