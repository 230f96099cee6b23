// Issue 16: a fault wrapper is installed only when the run's fault timeline has a fault that
// needs it (each fault kind's `needs`, simulator/faults/faultKinds.ts), so a run without faults
// has none in its paths; a fault played on a cluster assembled without its wrapper is a harness
// bug and fails an assertion, never a silent no-op.
import { AssertionError } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wrapPorts } from '../../server/assembly/wrapPorts.ts';
import { NO_BUGS } from '../../server/bugs/BugCatalogue.ts';
import { ServerBugEquipment } from '../../server/bugs/serverBugEquipment.ts';
import { Cluster } from '../../server/Cluster.ts';
import type { BackendFaultWindow } from '../../server/faults/BackendFaultWindow.ts';
import { DisorderingBroker } from '../../server/faults/DisorderingBroker.ts';
import { FAULT_EQUIPMENT, type FaultEquipment } from '../../server/faults/FaultEquipment.ts';
import { FaultyMessageStore } from '../../server/faults/FaultyMessageStore.ts';
import { LossyBroker } from '../../server/faults/LossyBroker.ts';
import { RestartablePresenceStore } from '../../server/faults/RestartablePresenceStore.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { ProcessCluster } from '../../server/process/ProcessCluster.ts';
import { FAULT_KINDS, faultEquipmentFor } from '../../simulator/faults/faultKinds.ts';
import { parseScenario } from '../../simulator/scenario/loadScenario.ts';
import type { FaultSpec } from '../../simulator/scenario/Scenario.ts';
import { drawScenario } from '../../simulator/swarm/drawScenario.ts';

const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;

function faultsOf(faultLines: string[]): FaultSpec[] {
  const text = readFileSync(tiny, 'utf8').replace('thresholds:', `${faultLines.length > 0 ? `faults:\n${faultLines.map((l) => `  - ${l}`).join('\n')}\n` : ''}thresholds:`);
  const parsed = parseScenario(text, 'tiny');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.scenario.faults;
}

/** The in-process cluster as an engine assembles it for these faults, on a broker, store and presence store the test holds. */
function clusterFor(faults: FaultSpec[]) {
  const time = new ManualTime();
  const ports = { broker: new MemoryBroker(), store: new MemoryMessageStore(), presence: new MemoryPresenceStore(time) };
  const cluster = new Cluster({ time, gateways: 1, chatServers: 1, http: 'in-process', metrics: false, backends: ports, faultEquipment: faultEquipmentFor(faults) });
  return { cluster, ports };
}

const WINDOWS: Record<BackendFaultWindow['kind'], BackendFaultWindow> = {
  'store-outage': { kind: 'store-outage' },
  'slow-store': { kind: 'slow-store', latencyMs: 50 },
  'presence-store-down': { kind: 'presence-store-down', generation: 1 },
  'duplicate-broker-messages': { kind: 'duplicate-broker-messages', share: 0.5 },
  'reorder-broker-messages': { kind: 'reorder-broker-messages', share: 0.5 },
  'lose-broker-channel': { kind: 'lose-broker-channel', channel: 'presence-events', share: 0.5 },
};

describe('fault equipment', () => {
  it('a scenario without broker faults gets the broker itself; one with lose-broker-messages gets it behind a LossyBroker', () => {
    const plain = clusterFor(faultsOf(['{ atMs: 1s, kind: pause-chat-server, chatServer: 0, forMs: 1s }', '{ atMs: 2s, kind: store-outage, forMs: 1s }']));
    expect(plain.cluster.backends.broker).toBe(plain.ports.broker);
    expect(plain.cluster.backends.presence).toBe(plain.ports.presence);
    expect(plain.cluster.backends.store).toBeInstanceOf(FaultyMessageStore);

    const lossy = clusterFor(faultsOf(['{ atMs: 1s, kind: lose-broker-messages, share: 0.3, forMs: 1s }']));
    expect(lossy.cluster.backends.broker).toBeInstanceOf(LossyBroker);
    expect(lossy.cluster.backends.store).toBe(lossy.ports.store);
    expect(lossy.cluster.backends.presence).toBe(lossy.ports.presence);
    expect(() => lossy.cluster.loseBrokerMessages(0.5)()).not.toThrow();

    const none = clusterFor([]);
    expect([none.cluster.backends.broker, none.cluster.backends.store, none.cluster.backends.presence]).toEqual([none.ports.broker, none.ports.store, none.ports.presence]);
  });

  it('every fault kind names what it needs, and a drawn timeline needs exactly the union of its kinds', () => {
    for (const kind of Object.values(FAULT_KINDS)) for (const need of kind.needs) expect(FAULT_EQUIPMENT).toContain(need);
    for (let seed = 1; seed <= 50; seed++) {
      const faults = drawScenario(seed).scenario.faults;
      const expected = new Set<FaultEquipment>(faults.flatMap((f) => [...FAULT_KINDS[f.kind].needs]));
      expect(faultEquipmentFor(faults)).toEqual(expected);
    }
    expect(faultEquipmentFor(faultsOf([]))).toEqual(new Set());
  });

  it('wraps each port only for its own faults, loss outside disorder', () => {
    const time = new ManualTime();
    const ports = { broker: new MemoryBroker(), store: new MemoryMessageStore(), presence: new MemoryPresenceStore(time) };
    const wrap = (needs: FaultEquipment[]) => wrapPorts(ports, { time, random: new SeededRandom(1), equipment: new ServerBugEquipment(NO_BUGS), needs: new Set(needs) });
    const bare = wrap([]);
    expect([bare.broker, bare.store, bare.presence]).toEqual([ports.broker, ports.store, ports.presence]);
    expect(bare.faults).toEqual({ equipped: new Set() });
    const all = wrap([...FAULT_EQUIPMENT]);
    expect(all.broker).toBe(all.faults.loss);
    expect(all.faults.disorder).toBeInstanceOf(DisorderingBroker);
    expect(all.store).toBeInstanceOf(FaultyMessageStore);
    expect(all.presence).toBeInstanceOf(RestartablePresenceStore);
    const disorderOnly = wrap(['broker-disorder']);
    expect(disorderOnly.broker).toBeInstanceOf(DisorderingBroker);
    expect(disorderOnly.faults.loss).toBeUndefined();
  });

  it('a fault played on an in-process cluster assembled without its wrapper fails an assertion', () => {
    const { cluster } = clusterFor([]);
    const harnessBug = (play: () => unknown): void => {
      expect(play).toThrow(AssertionError);
      expect(play).toThrow(/harness bug/);
    };
    harnessBug(() => cluster.loseBrokerMessages(0.5));
    harnessBug(() => cluster.pauseGateway(0));
    harnessBug(() => cluster.resumeGateway(0));
    harnessBug(() => cluster.pauseChatServer(0));
    harnessBug(() => cluster.resumeChatServer(0));
    harnessBug(() => cluster.restartPresenceStore());
    for (const window of Object.values(WINDOWS)) harnessBug(() => cluster.openBackendFault(window));
    expect(cluster.brokerLossStats()).toEqual({ dropped: 0, passedDuringLoss: 0 });
  });

  it('and so does one played on a multi-process cluster (checked by the supervisor, before any node is asked)', async () => {
    const cluster = new ProcessCluster({ time: new ManualTime(), redis: 'redis://127.0.0.1:1' });
    await expect(cluster.loseBrokerMessages(0.5)).rejects.toThrow(AssertionError);
    await expect(cluster.restartPresenceStore()).rejects.toThrow(/harness bug/);
    for (const window of Object.values(WINDOWS)) await expect(cluster.openBackendFault(window)).rejects.toThrow(AssertionError);
  });
});
