import { readPersisted } from './readPersisted.ts';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { ClusterControl } from '../../server/ClusterControl.ts';
import { startCluster, type StartedCluster } from './startCluster.ts';
import { addInterruptCleanup } from './interruptCleanups.ts';
import { BUG_CATALOGUE } from '../../server/bugs/BugCatalogue.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { TimeSource } from '../../server/ports/Clock.ts';
import type { HistoryEvent } from '../history/HistoryEvent.ts';
import type { Scenario, FaultSpec, BackendFaultSpec } from '../scenario/Scenario.ts';
import type { RunProgress } from '../report/RunProgress.ts';
import type { FaultWindow } from '../history/FaultWindow.ts';
import type { BackendFaultWindow } from '../../server/faults/BackendFaultWindow.ts';
import { PRESENCE_EVENTS_CHANNEL, gatewayChannel } from '../../server/protocol/envelopes.ts';
import { buildPopulation, friendsOfUsers, type Population } from './buildPopulation.ts';
import { fetchApi, provisionTarget } from './provisionTarget.ts';
import { assignPhones, profileOfDevices } from './assignPhones.ts';
import type { FleetAction, MainToWorker, WorkerInit, WorkerPhoneSpec, WorkerProgress, WorkerToMain } from './workerProtocol.ts';
import { EventPlayer, withAddedDevices, type FleetControl } from './EventPlayer.ts';
import type { RunFacts } from '../check/PropertyResult.ts';
import { faultLabel } from '../scenario/faultLabel.ts';
import type { ChatServerClockControl } from './clocks.ts';
import { LatencyWindow } from './liveLatency.ts';
import { driverCapabilitiesOf } from './phoneDrivers.ts';

export interface LiveRunOptions {
  scenario: Scenario;
  /** Run directory: worker histories are written here, then merged into history.jsonl.gz. */
  outDir: string;
  time: TimeSource;
  workers?: number;
  /** The HTTP API's port of the cluster this run starts; gateways on the ports after it (default: any free). */
  basePort?: number;
  onProgress?: (progress: RunProgress) => void;
  onLog?: (line: string) => void;
}

// Defined outside the engine so simulator/report can render them without importing the engine.
export type { RunProgress } from '../report/RunProgress.ts';
export type { FaultWindow } from '../history/FaultWindow.ts';

export type LiveRunOutcome =
  | {
    ok: true;
    events: HistoryEvent[];
    facts: RunFacts;
    encodedMetrics: string[];
    faults: FaultWindow[];
    phones: number;
    durationMs: number;
    generator: { cpuPercent: number; eventLoopLagMsP99: number; warning?: string };
    historyPath: string;
    /** Epoch ms of the run's t = 0 (history times are relative to it). */
    runStartEpochMs: number;
  }
  | { ok: false; code: 'TARGET_UNREACHABLE' | 'BACKEND_UNREACHABLE' | 'CLUSTER_START_FAILED' | 'PROVISION_FAILED' | 'WORKER_FAILED' | 'DRIVER_FAILED'; message: string };

/**
 * Phone worker threads when the caller does not say: one core stays with the cluster (its
 * gateways and chat servers share the main thread), the others run phones; at most 4, since
 * more threads on a small machine only add contention.
 */
function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** How long workers get to start their phones' clocks in step before t = 0. */
const START_DELAY_MS = 300;
/** Event-loop lag (p99) of a phone worker above which the report warns that the generator limited the run. */
const GENERATOR_LAG_WARN_MS = 100;
/** CPU share of one core used by a phone worker above which the report warns likewise. */
const GENERATOR_CPU_WARN_SHARE = 0.9;

/**
 * The live engine: starts the cluster (or uses the target), provisions the population over
 * HTTP, runs the phones in worker threads over real WebSockets on loopback, plays the fault
 * timeline, heals, and gathers every worker's history and metrics.
 */
export async function runLive(options: LiveRunOptions): Promise<LiveRunOutcome> {
  const { scenario, time } = options;
  const log = options.onLog ?? (() => undefined);
  const random = new SeededRandom(scenario.seed);
  await mkdir(options.outDir, { recursive: true });

  let started: StartedCluster | undefined;
  let httpUrl: string;
  let adminToken: string | undefined;
  if (scenario.target) {
    const serverBugs = scenario.bugs.filter((b) => BUG_CATALOGUE.find((e) => e.name === b)?.where === 'server');
    if (serverBugs.length > 0) log(`server bugs ${serverBugs.join(', ')} cannot be injected into --target ${scenario.target.httpUrl}; only phone bugs apply`);
    httpUrl = scenario.target.httpUrl;
    // No default: provisionTarget refuses to go on without it once the target answers.
    adminToken = scenario.target.adminToken;
  } else {
    const result = await startCluster(scenario, time, random, options.outDir, log, options.basePort ?? 0);
    if (!result.ok) return result;
    started = result.started;
    log(`cluster: API ${started.address.httpUrl}, gateways ${started.address.gatewayUrls.join(' ')}`);
    httpUrl = started.address.httpUrl;
    adminToken = started.cluster.adminToken;
  }
  // Stopped once, whether the run ends or the process is interrupted (the CLI's signal handler).
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= started?.stop() ?? Promise.resolve());
  const unregister = addInterruptCleanup(stop);
  try {
    return await runAgainst(options, httpUrl, adminToken, started?.cluster, random, log, started?.chatServerClocks);
  } finally {
    unregister();
    await stop();
  }
}

async function runAgainst(options: LiveRunOptions, httpUrl: string, adminToken: string | undefined, cluster: ClusterControl | undefined, random: SeededRandom, log: (line: string) => void, chatServerClocks?: ChatServerClockControl): Promise<LiveRunOutcome> {
  const { scenario, time } = options;
  const driver = await driverCapabilitiesOf(scenario, time);
  if (!driver.ok) return { ok: false, code: 'DRIVER_FAILED', message: driver.message };
  const population = buildPopulation(scenario.population, random.fork('population'));
  log(`provisioning ${population.users.length} users, ${population.chats.length} chats, ${population.friendships.length} friendships at ${httpUrl}`);
  const provisioned = await provisionTarget(fetchApi(httpUrl), adminToken, population);
  if (!provisioned.ok) return provisioned;
  const workerCount = Math.max(1, options.workers ?? defaultWorkerCount());
  const assignment = assignPhones(scenario, population, provisioned.devices, provisioned.chatIds, workerCount, random.fork('assign'));
  const phones = provisioned.devices.length;
  const runStartEpochMs = time.nowMs() + START_DELAY_MS;
  const harness: HistoryEvent[] = [];
  const tNow = (): number => time.nowMs() - runStartEpochMs;
  for (const chat of population.chats) {
    for (const user of chat.members) harness.push({ t: 0, p: 'harness', type: 'oracle', what: 'member', chat: provisioned.chatIds.get(chat.id) ?? chat.id, user, joinedAtSeq: 0 });
  }

  const workers = assignment.map((phonesOfWorker, workerIndex) => startWorker({
    workerIndex, seed: scenario.seed, gatewayUrls: provisioned.gatewayUrls, load: scenario.load, phones: phonesOfWorker, bugs: scenario.bugs,
    runStartEpochMs, historyPath: join(options.outDir, `history-w${workerIndex}.jsonl`),
    ...(scenario.target?.driver ? { driver: scenario.target.driver } : {}), ...(scenario.target?.driverOptions ? { driverOptions: scenario.target.driverOptions } : {}),
  }));
  const player = new EventPlayer({
    scenario, population, phones: assignment.flat(), chatIds: provisioned.chatIds, api: fetchApi(httpUrl), fleet: workerFleet(workers, assignment),
    time, random: random.fork('events'), runStartEpochMs, record: (e) => { harness.push(e); }, log,
  });
  player.start();
  const progressOf = new Map<number, WorkerProgress>();
  const latencyWindow = new LatencyWindow();
  workers.forEach((w, i) => w.onProgress((p) => {
    progressOf.set(i, p);
    if (p.latency) latencyWindow.push(tNow(), p.latency);
  }));
  let phase: RunProgress['phase'] = 'load';
  const reporter = time.every(1000, () => options.onProgress?.({ ...aggregate(progressOf, phones, tNow(), phase), ...latencyWindow.p99s(tNow()) }));

  log(`${phones} phones in ${workerCount} worker thread(s); load for ${scenario.durationMs / 1000} s, then heal for ${scenario.healMs / 1000} s`);
  harness.push({ t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' });
  const faults: FaultWindow[] = [];
  const faultTimers = scenario.faults.map((fault) => time.schedule(runStartEpochMs - time.nowMs() + fault.atMs, () => {
    void applyFault(fault, cluster, time, log, chatServerClocks).catch((error: Error) => {
      // A fault that could not be played (a node that would not start, a gateway already dead)
      // is logged and its window closed where it stands; the run goes on.
      log(`fault ${fault.kind} at ${fault.atMs} ms failed: ${error.message}`);
      return undefined;
    }).then((endMs) => {
      const startMs = fault.atMs;
      faults.push({ kind: fault.kind, label: faultLabel(fault), startMs, endMs: Math.max(startMs, endMs ?? tNow()) });
      harness.push({ t: startMs, p: 'harness', type: 'oracle', what: 'fault-start', fault: fault.kind });
      harness.push({ t: Math.max(startMs, tNow()), p: 'harness', type: 'oracle', what: 'fault-end', fault: fault.kind });
    });
  }));
  try {
    await sleepUntil(time, runStartEpochMs + scenario.durationMs);
    phase = 'heal';
    harness.push({ t: tNow(), p: 'harness', type: 'oracle', what: 'phase', phase: 'heal' });
    player.stop();
    for (const w of workers) w.post({ type: 'heal', quiesceMs: scenario.healMs });
    await sleepUntil(time, runStartEpochMs + scenario.durationMs + scenario.healMs);
    phase = 'collect';
    harness.push({ t: tNow(), p: 'harness', type: 'oracle', what: 'phase', phase: 'done' });
    const results = await Promise.all(workers.map((w) => w.finish()));
    const failed = results.find((r) => r.type === 'failed');
    if (failed && failed.type === 'failed') return { ok: false, code: 'WORKER_FAILED', message: failed.message };
    const done = results.filter((r): r is Extract<WorkerToMain, { type: 'done' }> => r.type === 'done');
    const events = await mergeHistories(workers.map((_, i) => join(options.outDir, `history-w${i}.jsonl`)), harness);
    const historyPath = join(options.outDir, 'history.jsonl.gz');
    await writeHistory(events, historyPath);
    for (let i = 0; i < workers.length; i++) await rm(join(options.outDir, `history-w${i}.jsonl`), { force: true });
    const facts = withAddedDevices({ ...factsOf(population, provisioned.chatIds), profileOfDevice: profileOfDevices(assignment) }, player.added);
    facts.driverCapabilities = driver.capabilities;
    if (cluster) facts.persisted = await readPersisted(await cluster.messageStore(), facts.chatMembers.keys());
    return {
      ok: true, events, facts, encodedMetrics: done.map((d) => d.metrics), faults, phones,
      durationMs: tNow(), generator: generatorHealth(done.map((d) => d.progress), tNow()), historyPath, runStartEpochMs,
    };
  } finally {
    reporter.cancel();
    player.stop();
    for (const t of faultTimers) t.cancel();
    for (const w of workers) w.terminate();
  }
}

/**
 * Plays one fault; resolves when it is over, with its end time (ms after the run start) for
 * faults that last (`forMs`), undefined for instant ones (the caller takes the time it finished).
 */
export async function applyFault(fault: FaultSpec, cluster: ClusterControl | undefined, time: TimeSource, log: (line: string) => void, chatServerClocks?: ChatServerClockControl): Promise<number | undefined> {
  if (fault.kind === 'clock-jump') {
    // Phones step their own clocks on the schedule they were given (assignPhones); chat servers here.
    const by = `${fault.byMs > 0 ? '+' : ''}${fault.byMs} ms`;
    if (fault.target === 'phones') log(`fault: the wall clock of ${fault.share === undefined || fault.share >= 1 ? 'every phone' : `${Math.round(fault.share * 100)}% of phones`} jumps ${by}`);
    else if (chatServerClocks && cluster) {
      await chatServerClocks.step(fault);
      log(`fault: the wall clock of ${fault.chatServer === undefined ? 'every chat server' : `chat server ${fault.chatServer}`} jumps ${by}`);
    } else log(`fault clock-jump skipped: the chat servers' clocks are not the harness's here`);
    return undefined;
  }
  if (!cluster) {
    log(`fault ${fault.kind} skipped: faults need a cluster started by chatsim, not --target`);
    return undefined;
  }
  switch (fault.kind) {
    case 'restart-chat-servers':
      log(`fault: restarting every chat server (${fault.crash ? 'crash' : 'graceful'})`);
      await cluster.restartChatServers({ crash: fault.crash });
      return undefined;
    case 'crash-gateway':
      log(`fault: gateway ${fault.gateway} crashes`);
      await cluster.crashGateway(fault.gateway);
      return undefined;
    case 'pause-gateway':
      log(`fault: gateway ${fault.gateway} paused for ${fault.forMs} ms`);
      await cluster.pauseGateway(fault.gateway);
      await sleepFor(time, fault.forMs);
      await cluster.resumeGateway(fault.gateway);
      return fault.atMs + fault.forMs;
    case 'partition-gateway':
      log(`fault: gateway ${fault.gateway} partitioned from the backends for ${fault.forMs} ms`);
      await cluster.partitionGateway(fault.gateway);
      await sleepFor(time, fault.forMs);
      await cluster.healGatewayPartition(fault.gateway);
      return fault.atMs + fault.forMs;
    case 'pause-chat-server':
      log(`fault: chat server ${fault.chatServer} paused for ${fault.forMs} ms`);
      await cluster.pauseChatServer(fault.chatServer);
      await sleepFor(time, fault.forMs);
      await cluster.resumeChatServer(fault.chatServer);
      return fault.atMs + fault.forMs;
    case 'kill-chat-server':
      log(`fault: chat server ${fault.chatServer} killed`);
      await cluster.killChatServer(fault.chatServer);
      return undefined;
    case 'lose-broker-messages': {
      log(`fault: the broker loses ${Math.round(fault.share * 1000) / 10}% of payloads for ${fault.forMs} ms`);
      const before = await cluster.brokerLossStats();
      const endLoss = await cluster.loseBrokerMessages(fault.share);
      await sleepFor(time, fault.forMs);
      await endLoss();
      const after = await cluster.brokerLossStats();
      const dropped = after.dropped - before.dropped;
      log(`fault over: the broker dropped ${dropped} of ${dropped + after.passedDuringLoss - before.passedDuringLoss} payloads`);
      return fault.atMs + fault.forMs;
    }
    default: return applyBackendFault(fault, cluster, time, log);
  }
}

/** The backend faults (Scenario.ts BackendFaultSpec): windows on the port wrappers, and gateways that come back. */
async function applyBackendFault(fault: BackendFaultSpec, cluster: ClusterControl, time: TimeSource, log: (line: string) => void): Promise<number | undefined> {
  const during = async (window: BackendFaultWindow, forMs: number): Promise<number> => {
    const end = await cluster.openBackendFault(window);
    await sleepFor(time, forMs);
    await end();
    return fault.atMs + forMs;
  };
  switch (fault.kind) {
    case 'store-outage':
      log(`fault: the message store is down for ${fault.forMs} ms`);
      return during({ kind: 'store-outage' }, fault.forMs);
    case 'slow-store': {
      log(`fault: every message store call takes ${fault.latencyMs} ms longer for ${fault.forMs} ms`);
      await during({ kind: 'slow-store', latencyMs: fault.latencyMs }, fault.forMs);
      // A call that started just before the window closed is still held for latencyMs: the
      // fault is over when the last delayed call has run.
      await sleepFor(time, fault.latencyMs);
      return fault.atMs + fault.forMs + fault.latencyMs;
    }
    case 'restart-presence-store': {
      log(`fault: the presence store restarts empty, down for ${fault.forMs} ms`);
      const end = await cluster.restartPresenceStore();
      await sleepFor(time, fault.forMs);
      await end();
      return fault.atMs + fault.forMs;
    }
    case 'kill-gateway':
      log(`fault: gateway ${fault.gateway} killed, back on its port in ${fault.forMs} ms`);
      await cluster.crashGateway(fault.gateway);
      await sleepFor(time, fault.forMs);
      await cluster.reviveGateway(fault.gateway);
      return fault.atMs + fault.forMs;
    case 'drain-gateway':
      log(`fault: gateway ${fault.gateway} drains${fault.forMs === undefined ? ' for good' : `, back in ${fault.forMs} ms`}`);
      await cluster.drainGateway(fault.gateway);
      if (fault.forMs === undefined) return undefined;
      await sleepFor(time, fault.forMs);
      await cluster.reviveGateway(fault.gateway);
      return fault.atMs + fault.forMs;
    case 'duplicate-broker-messages':
      log(`fault: the broker delivers ${Math.round(fault.share * 1000) / 10}% of payloads twice for ${fault.forMs} ms`);
      return during({ kind: 'duplicate-broker-messages', share: fault.share }, fault.forMs);
    case 'reorder-broker-messages':
      log(`fault: the broker reorders ${Math.round(fault.share * 1000) / 10}% of payloads for ${fault.forMs} ms`);
      return during({ kind: 'reorder-broker-messages', share: fault.share }, fault.forMs);
    case 'lose-broker-channel': {
      const channel = fault.channel === 'presence' ? PRESENCE_EVENTS_CHANNEL : gatewayChannel(`gw${(fault.gateway ?? 0) + 1}`);
      log(`fault: the broker loses ${Math.round(fault.share * 1000) / 10}% of payloads on ${channel} for ${fault.forMs} ms`);
      return during({ kind: 'lose-broker-channel', channel, share: fault.share }, fault.forMs);
    }
  }
}

/**
 * The live engine's FleetControl: a scenario event's action goes to the worker that holds the
 * device (a new device goes to the worker of its user's first device), or to every worker.
 */
function workerFleet(workers: WorkerHandle[], assignment: WorkerPhoneSpec[][]): FleetControl {
  const workerOf = new Map<string, number>();
  assignment.forEach((specs, w) => { for (const s of specs) workerOf.set(`${s.user}/${s.device}`, w); });
  const userWorker = (user: string): number => [...workerOf.entries()].find(([d]) => d.startsWith(`${user}/`))?.[1] ?? 0;
  const to = (w: number, action: FleetAction): void => workers[w]?.post({ type: 'event', action });
  const all = (action: FleetAction): void => workers.forEach((w) => w.post({ type: 'event', action }));
  return {
    addPhone: (spec) => { const w = userWorker(spec.user); workerOf.set(`${spec.user}/${spec.device}`, w); to(w, { op: 'addPhone', spec }); },
    logout: (device) => to(workerOf.get(device) ?? 0, { op: 'logout', device }),
    reinstall: (device, spec) => { const w = workerOf.get(device) ?? userWorker(spec.user); workerOf.set(`${spec.user}/${spec.device}`, w); to(w, { op: 'reinstall', device, spec }); },
    tunnel: (profile, forMs) => all({ op: 'tunnel', profile, forMs }),
    burst: (sends, withinMs) => workers.forEach((_, w) => {
      const mine = sends.filter((s) => (workerOf.get(s.device) ?? 0) === w);
      if (mine.length > 0) to(w, { op: 'burst', sends: mine, withinMs });
    }),
    hotChat: (chat, share, forMs) => all({ op: 'hotChat', chat, share, forMs }),
    membership: (user, chat, joined) => all({ op: 'membership', user, chat, joined }),
  };
}

interface WorkerHandle {
  post(message: MainToWorker): void;
  onProgress(handler: (p: WorkerProgress) => void): void;
  finish(): Promise<WorkerToMain>;
  terminate(): void;
}

function startWorker(init: WorkerInit): WorkerHandle {
  const worker = new Worker(new URL('./phoneWorkerEntry.mjs', import.meta.url), {
    workerData: { module: new URL('./phoneWorker.ts', import.meta.url).href, init },
  });
  let progressHandler: (p: WorkerProgress) => void = () => undefined;
  let settle: ((m: WorkerToMain) => void) | undefined;
  const final = new Promise<WorkerToMain>((resolve) => { settle = resolve; });
  worker.on('message', (message: WorkerToMain) => {
    if (message.type === 'progress') progressHandler(message.progress);
    else if (message.type === 'done' || message.type === 'failed') settle?.(message);
  });
  worker.on('error', (error) => settle?.({ type: 'failed', message: `worker ${init.workerIndex}: ${error.message}` }));
  worker.on('exit', (code) => settle?.({ type: 'failed', message: `worker ${init.workerIndex} exited with code ${code}` }));
  return {
    post: (message) => worker.postMessage(message),
    onProgress: (handler) => { progressHandler = handler; },
    finish: () => {
      worker.postMessage({ type: 'finish' } satisfies MainToWorker);
      return final;
    },
    terminate: () => void worker.terminate(),
  };
}

function aggregate(progressOf: Map<number, WorkerProgress>, phones: number, elapsedMs: number, phase: RunProgress['phase']): RunProgress {
  const sum = { connected: 0, sent: 0, acked: 0, delivered: 0, errors: 0 };
  for (const p of progressOf.values()) {
    sum.connected += p.connected;
    sum.sent += p.sent;
    sum.acked += p.acked;
    sum.delivered += p.delivered;
    sum.errors += p.errors;
  }
  return { elapsedMs, phase, phones, ...sum };
}

function generatorHealth(progress: WorkerProgress[], elapsedMs: number): { cpuPercent: number; eventLoopLagMsP99: number; warning?: string } {
  const lag = Math.max(0, ...progress.map((p) => p.eventLoopLagMsP99));
  const cpuShare = Math.max(0, ...progress.map((p) => p.cpuMs / Math.max(1, elapsedMs)));
  const health: { cpuPercent: number; eventLoopLagMsP99: number; warning?: string } = { cpuPercent: Math.round(cpuShare * 100), eventLoopLagMsP99: Math.round(lag) };
  if (lag > GENERATOR_LAG_WARN_MS || cpuShare > GENERATOR_CPU_WARN_SHARE) {
    health.warning = `the load generator was the bottleneck (worker event-loop lag p99 ${health.eventLoopLagMsP99} ms, CPU ${health.cpuPercent}% of a core): latencies include the generator's own delay; use fewer phones or more cores`;
  }
  return health;
}

export function factsOf(population: Population, chatIds: Map<string, string>): RunFacts {
  return {
    chatMembers: new Map(population.chats.map((c) => [chatIds.get(c.id) ?? c.id, c.members])),
    devicesOfUser: new Map(population.users.map((u) => [u.id, u.devices])),
    friendsOfUser: friendsOfUsers(population),
  };
}

async function mergeHistories(paths: string[], harness: HistoryEvent[]): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [...harness];
  for (const path of paths) {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) if (line) events.push(JSON.parse(line) as HistoryEvent);
  }
  // Stable sort keeps each device's own order for events in the same millisecond.
  return events.sort((a, b) => a.t - b.t);
}

export async function writeHistory(events: HistoryEvent[], path: string): Promise<void> {
  const lines = (function* () {
    for (const e of events) yield JSON.stringify(e) + '\n';
  })();
  await pipeline(Readable.from(lines), createGzip(), createWriteStream(path));
}

function sleepFor(time: TimeSource, ms: number): Promise<void> {
  return new Promise((resolve) => time.schedule(ms, resolve));
}

function sleepUntil(time: TimeSource, epochMs: number): Promise<void> {
  return new Promise((resolve) => time.schedule(epochMs - time.nowMs(), resolve));
}
