import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster } from '../../../server/Cluster.ts';
import { isBugName } from '../../../server/bugs/BugCatalogue.ts';
import { ManualTime } from '../../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../../server/memory/SeededRandom.ts';
import type { HistoryEvent } from '../../history/HistoryEvent.ts';
import { Metrics } from '../../metrics/Metrics.ts';
import { yieldToMacrotask } from '../../runtime/yieldToMacrotask.ts';
import type { Scenario } from '../../scenario/Scenario.ts';
import { assignPhones, profileOfDevices } from '../assignPhones.ts';
import { buildPopulation } from '../buildPopulation.ts';
import { countingRecorder } from '../countingRecorder.ts';
import { LatencyWindow, LiveLatencies } from '../liveLatency.ts';
import { applyFault, factsOf, writeHistory, type FaultWindow, type LiveRunOutcome, type RunProgress } from '../LiveRun.ts';
import { PhoneFleet } from '../PhoneFleet.ts';
import { EventPlayer, withAddedDevices } from '../EventPlayer.ts';
import { provisionTarget, type ApiPort } from '../provisionTarget.ts';
import { readPersisted } from '../readPersisted.ts';
import { SimNetwork } from './SimNetwork.ts';
import { skewedChatServerClocks } from './skewedClocks.ts';
import { ChatServerClocks } from '../clocks.ts';
import { withLatency } from './withLatency.ts';
import { faultLabel } from '../../scenario/faultLabel.ts';

/** Virtual time starts here (2026-01-01T00:00:00Z), whatever the wall clock says. */
export const SIM_EPOCH_MS = 1_767_225_600_000;
/** Virtual time between the cluster being provisioned and t = 0. */
const START_DELAY_MS = 300;

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
 * and nothing reads the wall clock, so a seed gives the same history byte for byte.
 */
export async function runSim(options: SimRunOptions): Promise<LiveRunOutcome> {
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
    bugs: new Set(scenario.bugs.filter(isBugName)), gatewayListeners: network.listeners, http: 'in-process',
    decorateBackends: (backends) => withLatency(backends, time, random.fork('ports'), scenario.sim.portLatencyMs),
    chatServerClock: chatServerClocks.forSlot,
  });
  const driver = new VirtualDriver(time);
  await driver.settle(cluster.start());
  const api: ApiPort = {
    where: 'the simulated cluster',
    request: async (method, path, body, headers) => {
      const reply = await cluster.http.handle({ method, path, ...(headers ? { headers } : {}), ...(body === undefined ? {} : { body }) });
      return { status: reply.status, body: reply.body };
    },
  };
  const population = buildPopulation(scenario.population, random.fork('population'));
  log(`simulating ${population.users.length} users, ${population.chats.length} chats on a virtual clock (seed ${scenario.seed})`);
  const provisioned = await driver.settle(provisionTarget(api, cluster.adminToken, population));
  if (!provisioned.ok) return provisioned;

  const [phoneSpecs = []] = assignPhones(scenario, population, provisioned.devices, provisioned.chatIds, 1, random.fork('assign'));
  const runStartEpochMs = time.nowMs() + START_DELAY_MS;
  const tNow = (): number => time.nowMs() - runStartEpochMs;
  const events: HistoryEvent[] = [];
  const counts = { sent: 0, acked: 0, delivered: 0, errors: 0 };
  const metrics = new Metrics(time, runStartEpochMs);
  const live = new LiveLatencies();
  const latencyWindow = new LatencyWindow();
  const history = countingRecorder({ record: (e) => { events.push(e); } }, metrics, counts, live);
  for (const chat of population.chats) {
    for (const user of chat.members) events.push({ t: 0, p: 'harness', type: 'oracle', what: 'member', chat: provisioned.chatIds.get(chat.id) ?? chat.id, user, joinedAtSeq: 0 });
  }
  const fleet = new PhoneFleet({
    phones: phoneSpecs, gatewayUrls: provisioned.gatewayUrls, load: scenario.load, bugs: scenario.bugs, time,
    randomFor: (spec) => random.fork(`phone:${spec.user}/${spec.device}`), transport: network, history, metrics, runStartEpochMs,
  });
  fleet.start();
  const player = new EventPlayer({
    scenario, population, phones: phoneSpecs, chatIds: provisioned.chatIds, api, fleet, time, random: random.fork('events'),
    runStartEpochMs, record: (e) => { events.push(e); }, log,
  });
  player.start();

  const faults: FaultWindow[] = [];
  for (const fault of scenario.faults) {
    time.schedule(runStartEpochMs + fault.atMs - time.nowMs(), () => {
      events.push({ t: fault.atMs, p: 'harness', type: 'oracle', what: 'fault-start', fault: fault.kind });
      void applyFault(fault, cluster, time, log, chatServerClocks).then((endMs) => {
        const end = Math.max(fault.atMs, endMs ?? tNow());
        faults.push({ kind: fault.kind, label: faultLabel(fault), startMs: fault.atMs, endMs: end });
        events.push({ t: end, p: 'harness', type: 'oracle', what: 'fault-end', fault: fault.kind });
      });
    });
  }
  let phase: RunProgress['phase'] = 'load';
  const progress = (): RunProgress => ({ elapsedMs: tNow(), phase, phones: fleet.size, connected: fleet.connectedCount(), ...counts, ...latencyWindow.p99s(tNow()) });
  const ticker = time.every(1000, () => {
    latencyWindow.push(tNow(), live.take());
    options.onProgress?.(progress());
  });

  events.push({ t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' });
  await driver.runUntil(runStartEpochMs + scenario.durationMs);
  phase = 'heal';
  events.push({ t: tNow(), p: 'harness', type: 'oracle', what: 'phase', phase: 'heal' });
  player.stop();
  fleet.heal(scenario.healMs);
  await driver.runUntil(runStartEpochMs + scenario.durationMs + scenario.healMs);
  phase = 'collect';
  events.push({ t: tNow(), p: 'harness', type: 'oracle', what: 'phase', phase: 'done' });
  ticker.cancel();
  fleet.finish();
  const facts = withAddedDevices({ ...factsOf(population, provisioned.chatIds), profileOfDevice: profileOfDevices([phoneSpecs]) }, player.added);
  facts.persisted = await driver.settle(readPersisted(cluster.backends.store, facts.chatMembers.keys()));
  await driver.settle(cluster.stop());

  // Stable: events of one instant keep the order they happened in.
  events.sort((a, b) => a.t - b.t);
  const historyPath = join(options.outDir, 'history.jsonl.gz');
  await writeHistory(events, historyPath);
  return {
    ok: true, events, facts, encodedMetrics: [metrics.encode()], faults, phones: fleet.size, durationMs: tNow(),
    generator: { cpuPercent: 0, eventLoopLagMsP99: 0 }, historyPath, runStartEpochMs,
  };
}

/** Moves virtual time one instant at a time, letting each instant's promise callbacks run before the next. */
class VirtualDriver {
  constructor(private readonly time: ManualTime) {}

  /** Fires every instant up to `untilMs`, then sets the clock there. */
  async runUntil(untilMs: number): Promise<void> {
    while (this.time.fireNextInstant(untilMs)) await yieldToMacrotask();
    await yieldToMacrotask();
    this.time.jumpTo(untilMs);
  }

  /** Runs the clock until `work` settles (work that waits on timers, such as provisioning, needs it). */
  async settle<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const settled = work.finally(() => { done = true; });
    for (;;) {
      await yieldToMacrotask();
      if (done) return settled;
      const next = this.time.nextDueMs();
      if (next === undefined) return settled; // nothing can move it but I/O: just wait
      this.time.fireNextInstant(next);
    }
  }
}
