import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { ClusterControl } from '../../server/ClusterControl.ts';
import type { TimeSource, TimerHandle } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { mergeHistories, writeHistory } from '../history/writeHistory.ts';
import { applyFault, faultNotTakenReason, type FaultContext, type TargetFaultHooks } from '../faults/faultKinds.ts';
import { faultLabel } from '../scenario/faultLabel.ts';
import type { Scenario } from '../scenario/Scenario.ts';
import type { FaultNotTaken, FaultWindow } from '../history/FaultWindow.ts';
import type { RunProgress } from '../report/RunProgress.ts';
import type { DriverCapabilities } from '../types/runTypes.ts';
import type { RunFacts } from '../types/runTypes.ts';
import { assignPhones, profileOfDevices } from './assignPhones.ts';
import { buildPopulation, friendsOfUsers, type Population } from './buildPopulation.ts';
import { EventPlayer, withAddedDevices, type FleetControl } from './EventPlayer.ts';
import type { ApiPort } from './provisionTarget.ts';
import type { TargetProvisioner } from './TargetProvisioner.ts';
import type { WorkerPhoneSpec } from './workerProtocol.ts';

/** How long between provisioning and t = 0: phones (and worker threads) start their clocks in step. */
export const START_DELAY_MS = 300;

/** What the run's history, metrics and report need from the engine that ran it. */
export type RunOutcome =
  | {
    ok: true;
    events: HistoryEvent[];
    facts: RunFacts;
    encodedMetrics: string[];
    faults: FaultWindow[];
    /** Faults of the scenario the cluster or target could not take (not played), or whose playing failed. */
    faultsNotTaken: FaultNotTaken[];
    phones: number;
    durationMs: number;
    generator: GeneratorHealth;
    historyPath: string;
    /** Epoch ms of the run's t = 0 (history times are relative to it). */
    runStartEpochMs: number;
  }
  | { ok: false; code: 'TARGET_UNREACHABLE' | 'BACKEND_UNREACHABLE' | 'CLUSTER_START_FAILED' | 'PROVISION_FAILED' | 'WORKER_FAILED' | 'DRIVER_FAILED'; message: string };

export interface GeneratorHealth { cpuPercent: number; eventLoopLagMsP99: number; warning?: string }

/**
 * Port: how time advances. The live engine waits on the wall clock; the simulation engine moves
 * its virtual clock itself, so anything it awaits that waits on timers must go through `settle`.
 */
export interface RunClock {
  readonly time: TimeSource;
  /**
   * Resolves when the clock reaches `epochMs` (having fired every timer due before), or as soon
   * as `stopEarly` (if given) resolves: a run whose phones failed ends then, not at its end.
   */
  runUntil(epochMs: number, stopEarly?: Promise<unknown>): Promise<void>;
  /** Resolves as `work` does, moving time meanwhile where nothing else would. */
  settle<T>(work: Promise<T>): Promise<T>;
}

/** What phones have done so far, for progress lines. */
export type PhoneProgress = Omit<RunProgress, 'elapsedMs' | 'phase'>;

export type PhonesCollected =
  | { ok: true; encodedMetrics: string[]; phones: number; generator: GeneratorHealth; historyFiles: string[] }
  | { ok: false; message: string };

/**
 * Port: where phones run (worker threads over WebSockets, or this thread on the simulated
 * network). `start` is called once, at t = -START_DELAY_MS; phones that record in this thread
 * record into `record` (the run's history), others into `historyFiles` given back by `collect`.
 * `stop` is always called last, also when the run fails.
 */
export interface PhoneHost {
  /** How many groups the phones are assigned in (one per worker thread). */
  readonly groups: number;
  start(assignment: WorkerPhoneSpec[][], gatewayUrls: string[], runStartEpochMs: number, record: (e: HistoryEvent) => void): FleetControl;
  progress(elapsedMs: number): PhoneProgress;
  heal(quiesceMs: number): void;
  collect(): Promise<PhonesCollected>;
  stop(): void;
  /**
   * Resolves, with why, when phones failed apart from the run (a worker thread died); never
   * resolves otherwise. Absent where phones cannot fail apart (the simulation's run in this thread).
   */
  readonly failure?: Promise<string>;
}

/** The cluster a run plays against, as the skeleton needs it. */
export interface RunTarget {
  /** Scenario events (membership changes, added devices) go through chatsim's HTTP API. */
  api: ApiPort;
  /** Creates the population on the target (chatsim's HTTP API, or ejabberd's). */
  provisioner: TargetProvisioner;
  /** For faults; absent against --target. */
  cluster?: ClusterControl;
  /** A target's name and server faults (restart-target); absent with the reference cluster. */
  faultHooks?: TargetFaultHooks;
  chatServerClocks?: FaultContext['chatServerClocks'];
  /** The store's ground truth after the run (RunFacts.persisted), where the engine can read it. */
  readPersisted?(chats: Iterable<string>): Promise<Map<string, Map<number, string>>>;
  /** Called after the facts are read, before the history is written (the simulation stops its cluster). */
  shutdown?(): Promise<void>;
}

export interface SkeletonOptions {
  scenario: Scenario;
  outDir: string;
  clock: RunClock;
  phones: PhoneHost;
  target: RunTarget;
  random: Random;
  log: (line: string) => void;
  onProgress?: (progress: RunProgress) => void;
  /** The line logged before provisioning. */
  provisionLine(population: Population): string;
  /** What the phones' driver can carry (scenario target.driver); absent: chatsim.v1, everything. */
  driverCapabilities?: DriverCapabilities;
}

/**
 * One run, the same story for both engines: population, provisioning, assignment, the phones
 * and scenario events, the fault timeline, load, heal, collection, facts and the history.
 * What differs (where phones run, how time advances) is behind the two ports.
 */
export async function runSkeleton(options: SkeletonOptions): Promise<RunOutcome> {
  const { scenario, clock, phones, target, random, log } = options;
  const { time } = clock;
  const population = buildPopulation(scenario.population, random.fork('population'));
  log(options.provisionLine(population));
  const provisioned = await clock.settle(target.provisioner.provision(population));
  if (!provisioned.ok) return provisioned;
  const assignment = assignPhones(scenario, population, provisioned.devices, provisioned.chatIds, phones.groups, random.fork('assign'));
  const runStartEpochMs = time.nowMs() + START_DELAY_MS;
  const tNow = (): number => time.nowMs() - runStartEpochMs;
  const events: HistoryEvent[] = [];
  const record = (e: HistoryEvent): void => { events.push(e); };
  for (const chat of population.chats) {
    for (const user of chat.members) record({ t: 0, p: 'harness', type: 'oracle', what: 'member', chat: provisioned.chatIds.get(chat.id) ?? chat.id, user, joinedAtSeq: 0 });
  }
  const fleet = phones.start(assignment, provisioned.gatewayUrls, runStartEpochMs, record);
  const player = new EventPlayer({
    scenario, population, phones: assignment.flat(), chatIds: provisioned.chatIds, api: target.api, fleet,
    time, random: random.fork('events'), runStartEpochMs, record, log,
  });
  player.start();
  const faults: FaultWindow[] = [];
  const faultCtx: FaultContext = { cluster: target.cluster, time, log, ...(target.faultHooks ? { target: target.faultHooks } : {}), ...(target.chatServerClocks ? { chatServerClocks: target.chatServerClocks } : {}) };
  const faultsNotTaken = faultsTheTargetCannotTake(scenario, faultCtx);
  const faultTimers = scheduleFaults(scenario, faultCtx, runStartEpochMs, record, faults, faultsNotTaken);
  let phase: RunProgress['phase'] = 'load';
  const ticker = time.every(1000, () => {
    const progress = phones.progress(tNow()); // every second, heard or not: it takes the latency samples
    options.onProgress?.({ ...progress, elapsedMs: tNow(), phase });
  });
  // A dead worker ends the run at once (its phones are gone; the rest of the load and heal would
  // only be waited out): WORKER_FAILED, as collect would say at the end.
  let phonesFailed: string | undefined;
  void phones.failure?.then((why) => { phonesFailed = why; });
  try {
    record({ t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' });
    await clock.runUntil(runStartEpochMs + scenario.durationMs, phones.failure);
    if (phonesFailed !== undefined) return { ok: false, code: 'WORKER_FAILED', message: phonesFailed };
    phase = 'heal';
    record({ t: tNow(), p: 'harness', type: 'oracle', what: 'phase', phase: 'heal' });
    player.stop();
    phones.heal(scenario.healMs);
    await clock.runUntil(runStartEpochMs + scenario.durationMs + scenario.healMs, phones.failure);
    if (phonesFailed !== undefined) return { ok: false, code: 'WORKER_FAILED', message: phonesFailed };
    phase = 'collect';
    record({ t: tNow(), p: 'harness', type: 'oracle', what: 'phase', phase: 'done' });
    const collected = await phones.collect();
    ticker.cancel();
    if (!collected.ok) return { ok: false, code: 'WORKER_FAILED', message: collected.message };
    const facts = withAddedDevices({ ...factsOf(population, provisioned.chatIds), profileOfDevice: profileOfDevices(assignment) }, player.added);
    if (options.driverCapabilities) facts.driverCapabilities = options.driverCapabilities;
    if (target.readPersisted) facts.persisted = await clock.settle(target.readPersisted(facts.chatMembers.keys()));
    await target.shutdown?.();
    const history = await mergeHistories(events, collected.historyFiles);
    const historyPath = join(options.outDir, 'history.jsonl.gz');
    await writeHistory(history, historyPath);
    for (const file of collected.historyFiles) await rm(file, { force: true });
    return {
      ok: true, events: history, facts, encodedMetrics: collected.encodedMetrics, faults, faultsNotTaken, phones: collected.phones,
      durationMs: tNow(), generator: collected.generator, historyPath, runStartEpochMs,
    };
  } finally {
    ticker.cancel();
    player.stop();
    for (const t of faultTimers) t.cancel();
    phones.stop();
  }
}

/**
 * The scenario's faults the cluster or target cannot take (faultNotTakenReason), said in the log
 * before the run starts; they are not played and leave no window for the checkers to excuse.
 */
function faultsTheTargetCannotTake(scenario: Scenario, ctx: FaultContext): FaultNotTaken[] {
  return scenario.faults.flatMap((fault) => {
    const reason = faultNotTakenReason(fault, ctx);
    if (reason === undefined) return [];
    ctx.log(`fault ${fault.kind} at ${fault.atMs} ms will not be played: ${reason}`);
    return [{ kind: fault.kind, atMs: fault.atMs, label: faultLabel(fault), reason }];
  });
}

/**
 * The fault timeline: each fault the target can take starts at its time (recorded then), and
 * its window closes when it is over, at the end it reports (or when it finished, for an instant
 * one). A fault that could not be played (a node that would not start, a gateway already dead,
 * a target that did not come back) is logged, listed in `notTaken` with why, and its window
 * closed where it stands; the run goes on.
 */
function scheduleFaults(scenario: Scenario, ctx: FaultContext, runStartEpochMs: number, record: (e: HistoryEvent) => void, faults: FaultWindow[], notTaken: FaultNotTaken[]): TimerHandle[] {
  const { time } = ctx;
  const refused = new Set(notTaken.map((f) => `${f.kind}@${f.atMs}`));
  return scenario.faults.filter((f) => !refused.has(`${f.kind}@${f.atMs}`)).map((fault) => time.schedule(runStartEpochMs + fault.atMs - time.nowMs(), () => {
    record({ t: fault.atMs, p: 'harness', type: 'oracle', what: 'fault-start', fault: fault.kind });
    const close = (endMs: number | undefined): void => {
      const end = Math.max(fault.atMs, endMs ?? time.nowMs() - runStartEpochMs);
      faults.push({ kind: fault.kind, label: faultLabel(fault), startMs: fault.atMs, endMs: end });
      record({ t: end, p: 'harness', type: 'oracle', what: 'fault-end', fault: fault.kind });
    };
    void applyFault(fault, ctx).then(close, (error: Error) => {
      ctx.log(`fault ${fault.kind} at ${fault.atMs} ms failed: ${error.message}`);
      notTaken.push({ kind: fault.kind, atMs: fault.atMs, label: faultLabel(fault), reason: `playing it failed: ${error.message}` });
      close(undefined);
    });
  }));
}

export function factsOf(population: Population, chatIds: Map<string, string>): RunFacts {
  return {
    chatMembers: new Map(population.chats.map((c) => [chatIds.get(c.id) ?? c.id, c.members])),
    devicesOfUser: new Map(population.users.map((u) => [u.id, u.devices])),
    friendsOfUser: friendsOfUsers(population),
    ...groupChatsOf(population, chatIds),
  };
}

/** The run's group chats, as the history names them (checkers judge by chat kind where a driver's capabilities differ). */
function groupChatsOf(population: Population, chatIds: Map<string, string>): { groupChats?: ReadonlySet<string> } {
  const groups = population.chats.filter((c) => c.kind === 'group').map((c) => chatIds.get(c.id) ?? c.id);
  return groups.length > 0 ? { groupChats: new Set(groups) } : {};
}
