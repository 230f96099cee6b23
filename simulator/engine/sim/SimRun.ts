import { mkdir } from 'node:fs/promises';
import { Cluster } from '../../../server/Cluster.ts';
import { ManualTime } from '../../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../../server/memory/SeededRandom.ts';
import { faultEquipmentFor } from '../../faults/faultKinds.ts';
import type { Scenario } from '../../scenario/Scenario.ts';
import type { RunProgress } from '../../report/RunProgress.ts';
import { ChatServerClocks } from '../clocks.ts';
import type { ApiPort } from '../provisionTarget.ts';
import { readPersisted } from '../readPersisted.ts';
import { runSkeleton, type RunOutcome } from '../runSkeleton.ts';
import { SimNetwork } from './SimNetwork.ts';
import { SimPhoneHost } from './SimPhoneHost.ts';
import { skewedChatServerClocks } from './skewedClocks.ts';
import { VirtualClock } from './VirtualClock.ts';
import { withLatency } from './withLatency.ts';
import { chatsimProvisioner } from '../TargetProvisioner.ts';

/** Virtual time starts here (2026-01-01T00:00:00Z), whatever the wall clock says. */
export const SIM_EPOCH_MS = 1_767_225_600_000;

export interface SimRunOptions {
  scenario: Scenario;
  outDir: string;
  onProgress?: (progress: RunProgress) => void;
  onLog?: (line: string) => void;
}

/**
 * The simulation engine: the same cluster, phones, link profiles and faults as the live
 * engine, in one thread on one virtual clock, plus what only a simulation can give every run:
 * latencies on every backend call and a skewed clock per chat server (scenario.sim). Every random stream is forked from the seed by
 * name (each phone's by its user and device, so removing a phone leaves the others alone),
 * and nothing reads the wall clock, so a seed gives the same history byte for byte. The run
 * itself is the one both engines share (runSkeleton).
 */
export async function runSim(options: SimRunOptions): Promise<RunOutcome> {
  const { scenario } = options;
  const log = options.onLog ?? (() => undefined);
  await mkdir(options.outDir, { recursive: true });
  const time = new ManualTime(SIM_EPOCH_MS);
  const random = new SeededRandom(scenario.seed);
  const network = new SimNetwork(time);
  const realPorts = Object.entries(scenario.cluster.implementations).filter(([, implementation]) => implementation !== 'memory');
  if (scenario.cluster.processes === 'multi' || realPorts.length > 0) {
    log('the simulation engine runs the whole cluster in one thread on the memory ports with simulated latencies; cluster.processes and cluster.implementations apply to the live engine only');
  }
  // The simulated machines: every backend call takes a latency drawn per port, and each chat
  // server slot reads the clock off by its own fixed skew (scenario.sim).
  // On top of the simulated machines' skew: the scenario's wall-clock skews and clock-jump faults (both engines).
  const chatServerClocks = new ChatServerClocks(time, random.fork('wall-clocks'), scenario.cluster.chatServers, scenario.clocks?.chatServerSkewMs ?? 0, skewedChatServerClocks(time, random.fork('clocks'), scenario.sim.clockSkewMs));
  const cluster = new Cluster({
    time, random: random.fork('cluster'), gateways: scenario.cluster.gateways, chatServers: scenario.cluster.chatServers,
    limits: { ...scenario.cluster.limits, presenceDebounceMs: scenario.cluster.presenceDebounceMs },
    bugs: new Set(scenario.bugs), faultEquipment: faultEquipmentFor(scenario.faults), gatewayListeners: network.listeners, http: 'in-process',
    decorateBackends: (backends) => withLatency(backends, time, random.fork('ports'), scenario.sim.portLatencyMs),
    chatServerClock: chatServerClocks.forSlot,
  });
  const clock = new VirtualClock(time);
  await clock.settle(cluster.start());
  const api: ApiPort = {
    where: 'the simulated cluster',
    request: async (method, path, body, headers) => {
      const reply = await cluster.http.handle({ method, path, ...(headers ? { headers } : {}), ...(body === undefined ? {} : { body }) });
      return { status: reply.status, body: reply.body };
    },
  };
  return runSkeleton({
    scenario, outDir: options.outDir, clock, random, log, ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    phones: new SimPhoneHost(scenario, time, random, network),
    target: {
      api, provisioner: chatsimProvisioner(api, cluster.adminToken), cluster, chatServerClocks,
      readPersisted: (chats) => readPersisted(cluster.backends.store, chats),
      shutdown: () => clock.settle(cluster.stop()),
    },
    provisionLine: (population) => `simulating ${population.users.length} users, ${population.chats.length} chats on a virtual clock (seed ${scenario.seed})`,
  });
}
