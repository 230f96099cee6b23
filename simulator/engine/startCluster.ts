import { join } from 'node:path';
import { Cluster, type ClusterBackends } from '../../server/Cluster.ts';
import type { ClusterAddress, ClusterControl } from '../../server/ClusterControl.ts';
import { openBackends, type OpenedBackends } from '../../server/backends/openBackends.ts';
import { provisionBackends, type ProvisionedBackends } from '../../server/backends/provisionBackends.ts';
import { BUG_CATALOGUE } from '../../server/bugs/BugCatalogue.ts';
import type { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { TimeSource } from '../../server/ports/Clock.ts';
import { ProcessCluster } from '../../server/process/ProcessCluster.ts';
import { faultEquipmentFor } from '../faults/faultKinds.ts';
import type { Scenario } from '../scenario/Scenario.ts';
import { ChatServerClocks, chatServerSkewMs, type ChatServerClockControl } from './clocks.ts';

export interface StartedCluster {
  cluster: ClusterControl;
  address: ClusterAddress;
  /** The chat servers' wall clocks, when the harness holds them (in-process): clock-jump faults step them. */
  chatServerClocks?: ChatServerClockControl;
  /** Stops the cluster and releases what was provisioned for it (namespaces, a local Redis). */
  stop(): Promise<void>;
}

export type StartClusterResult = { ok: true; started: StartedCluster } | { ok: false; code: 'BACKEND_UNREACHABLE' | 'CLUSTER_START_FAILED'; message: string };

/**
 * Starts the cluster a scenario describes for the live engine: in this process on the memory
 * ports (the default), in this process on real ports (cluster.implementations), or as separate
 * processes on Redis and Cassandra (cluster.processes: multi; node logs in `<outDir>/nodes/`).
 */
export async function startCluster(scenario: Scenario, time: TimeSource, random: SeededRandom, outDir: string, log: (line: string) => void, basePort = 0): Promise<StartClusterResult> {
  const spec = scenario.cluster;
  const limits = { ...spec.limits, presenceDebounceMs: spec.presenceDebounceMs };
  const bugs = scenario.bugs.filter((b) => BUG_CATALOGUE.find((e) => e.name === b)?.where === 'server');
  // The fault wrappers the scenario's faults need, and no other (server/faults/FaultEquipment.ts).
  const faultEquipment = faultEquipmentFor(scenario.faults);
  try {
    if (spec.processes === 'multi') {
      // Each slot's wall clock offset, drawn as in-process; clock-jump faults step the nodes' clocks over IPC.
      const wallClocks = random.fork('wall-clocks');
      const chatServerClockOffsetsMs = Array.from({ length: spec.chatServers }, (_, i) => chatServerSkewMs(wallClocks, i, scenario.clocks?.chatServerSkewMs ?? 0));
      const cluster = new ProcessCluster({
        time, gateways: spec.gateways, chatServers: spec.chatServers, redis: spec.redis, cassandra: spec.cassandra, limits, bugs, faultEquipment,
        seed: scenario.seed, logDir: join(outDir, 'nodes'), onLog: log, port: basePort, chatServerClockOffsetsMs,
      });
      const chatServerClocks: ChatServerClockControl = { step: (fault) => cluster.stepChatServerClock(fault.chatServer, fault.byMs) };
      try {
        const address = await cluster.start();
        return { ok: true, started: { cluster, address, stop: () => cluster.stop(), chatServerClocks } };
      } catch (error) {
        await cluster.stop();
        throw error;
      }
    }
    const real = Object.values(spec.implementations).some((implementation) => implementation !== 'memory');
    let provisioned: ProvisionedBackends | undefined;
    let opened: OpenedBackends | undefined;
    if (real) {
      provisioned = await provisionBackends({ choice: spec.implementations, redis: spec.redis, cassandra: spec.cassandra });
      try {
        opened = await openBackends(provisioned.config, time, ['broker', 'queue', 'presence', 'directory', 'store']);
      } catch (error) {
        await provisioned.cleanup();
        throw error;
      }
      log(`cluster in this process on ${describeChoice(spec.implementations)}`);
    }
    const backends: Partial<ClusterBackends> = {};
    for (const [port, implementation] of Object.entries(spec.implementations) as Array<[keyof ClusterBackends, string]>) {
      if (implementation !== 'memory' && opened?.backends[port]) Object.assign(backends, { [port]: opened.backends[port] });
    }
    // Each slot's wall clock, skewed (clocks.chatServerSkewMs) and stepped by clock-jump faults.
    const chatServerClocks = new ChatServerClocks(time, random.fork('wall-clocks'), spec.chatServers, scenario.clocks?.chatServerSkewMs ?? 0);
    const cluster = new Cluster({
      time, random: random.fork('cluster'), gateways: spec.gateways, chatServers: spec.chatServers, limits, port: basePort,
      bugs: new Set(scenario.bugs), faultEquipment, backends, chatServerClock: chatServerClocks.forSlot,
    });
    const stop = async (): Promise<void> => {
      await cluster.stop();
      for (const port of [backends.broker, backends.queue]) await (port as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => undefined);
      await opened?.close();
      await provisioned?.cleanup();
    };
    let address: ClusterAddress;
    try {
      address = await cluster.start();
    } catch (error) {
      await stop().catch(() => undefined);
      return { ok: false, code: 'CLUSTER_START_FAILED', message: (error as Error).message };
    }
    return { ok: true, started: { cluster, address, stop, chatServerClocks } };
  } catch (error) {
    return { ok: false, code: 'BACKEND_UNREACHABLE', message: (error as Error).message };
  }
}

function describeChoice(choice: Scenario['cluster']['implementations']): string {
  return Object.entries(choice).map(([port, implementation]) => `${port} ${implementation}`).join(', ');
}
