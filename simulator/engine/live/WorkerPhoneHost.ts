import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { TimeSource } from '../../../server/ports/Clock.ts';
import type { Scenario } from '../../scenario/Scenario.ts';
import type { HistoryEvent } from '../../history/HistoryEvent.ts';
import type { FleetControl } from '../EventPlayer.ts';
import { LatencyWindow } from '../liveLatency.ts';
import type { GeneratorHealth, PhoneHost, PhoneProgress, PhonesCollected } from '../runSkeleton.ts';
import type { FleetAction, MainToWorker, WorkerInit, WorkerPhoneSpec, WorkerProgress, WorkerToMain } from '../workerProtocol.ts';

/** Event-loop lag (p99) of a phone worker above which the report warns that the generator limited the run. */
const GENERATOR_LAG_WARN_MS = 100;
/** CPU share of one core used by a phone worker above which the report warns likewise. */
const GENERATOR_CPU_WARN_SHARE = 0.9;

/**
 * Phone worker threads when the caller does not say: one core stays with the cluster (its
 * gateways and chat servers share the main thread), the others run phones; at most 4, since
 * more threads on a small machine only add contention.
 */
function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * The live engine's PhoneHost: phones in worker threads over real WebSockets, each worker
 * writing its history to history-w<i>.jsonl in the run directory and reporting progress.
 */
export class WorkerPhoneHost implements PhoneHost {
  readonly groups: number;
  private workers: WorkerHandle[] = [];
  private phones = 0;
  private runStartEpochMs = 0;
  private readonly progressOf = new Map<number, WorkerProgress>();
  private readonly latencyWindow = new LatencyWindow();
  private reportFailure: (why: string) => void = () => undefined;
  readonly failure = new Promise<string>((resolve) => { this.reportFailure = resolve; });

  constructor(private readonly scenario: Scenario, private readonly time: TimeSource, private readonly outDir: string, private readonly log: (line: string) => void, workers?: number) {
    this.groups = Math.max(1, workers ?? defaultWorkerCount());
  }

  start(assignment: WorkerPhoneSpec[][], gatewayUrls: string[], runStartEpochMs: number, _record: (e: HistoryEvent) => void): FleetControl {
    const { scenario } = this;
    this.phones = assignment.reduce((n, specs) => n + specs.length, 0);
    this.runStartEpochMs = runStartEpochMs;
    this.workers = assignment.map((phonesOfWorker, workerIndex) => startWorker({
      workerIndex, seed: scenario.seed, gatewayUrls, load: scenario.load, phones: phonesOfWorker, bugs: scenario.bugs,
      runStartEpochMs, historyPath: this.historyPath(workerIndex),
      ...(scenario.target?.driver ? { driver: scenario.target.driver } : {}), ...(scenario.target?.driverOptions ? { driverOptions: scenario.target.driverOptions } : {}),
    }));
    this.workers.forEach((w, i) => w.onProgress((p) => {
      this.progressOf.set(i, p);
      if (p.latency) this.latencyWindow.push(this.elapsedMs(), p.latency);
    }));
    for (const w of this.workers) w.onFailure((why) => this.reportFailure(why));
    this.log(`${this.phones} phones in ${this.groups} worker thread(s); load for ${scenario.durationMs / 1000} s, then heal for ${scenario.healMs / 1000} s`);
    return workerFleet(this.workers, assignment);
  }

  progress(elapsedMs: number): PhoneProgress {
    const sum = { connected: 0, sent: 0, acked: 0, delivered: 0, errors: 0 };
    for (const p of this.progressOf.values()) {
      sum.connected += p.connected;
      sum.sent += p.sent;
      sum.acked += p.acked;
      sum.delivered += p.delivered;
      sum.errors += p.errors;
    }
    return { phones: this.phones, ...sum, ...this.latencyWindow.p99s(elapsedMs) };
  }

  heal(quiesceMs: number): void {
    for (const w of this.workers) w.post({ type: 'heal', quiesceMs });
  }

  async collect(): Promise<PhonesCollected> {
    const results = await Promise.all(this.workers.map((w) => w.finish()));
    const failed = results.find((r) => r.type === 'failed');
    if (failed && failed.type === 'failed') return { ok: false, message: failed.message };
    const done = results.filter((r): r is Extract<WorkerToMain, { type: 'done' }> => r.type === 'done');
    return {
      ok: true, encodedMetrics: done.map((d) => d.metrics), phones: this.phones, generator: generatorHealth(done.map((d) => d.progress), this.elapsedMs()),
      historyFiles: this.workers.map((_, i) => this.historyPath(i)),
    };
  }

  stop(): void {
    for (const w of this.workers) w.terminate();
  }

  private elapsedMs(): number {
    return this.time.nowMs() - this.runStartEpochMs;
  }

  private historyPath(workerIndex: number): string {
    return join(this.outDir, `history-w${workerIndex}.jsonl`);
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
  /** Called once if the worker dies (an uncaught error, or an exit before it said it was done). */
  onFailure(handler: (why: string) => void): void;
  finish(): Promise<WorkerToMain>;
  terminate(): void;
}

function startWorker(init: WorkerInit): WorkerHandle {
  const worker = new Worker(new URL('../phoneWorkerEntry.mjs', import.meta.url), {
    workerData: { module: new URL('../phoneWorker.ts', import.meta.url).href, init },
  });
  let progressHandler: (p: WorkerProgress) => void = () => undefined;
  let failureHandler: (why: string) => void = () => undefined;
  let ended: WorkerToMain | undefined;
  let settle: ((m: WorkerToMain) => void) | undefined;
  const final = new Promise<WorkerToMain>((resolve) => { settle = resolve; });
  const end = (message: WorkerToMain): void => {
    if (ended) return;
    ended = message;
    settle?.(message);
    if (message.type === 'failed') failureHandler(message.message);
  };
  worker.on('message', (message: WorkerToMain) => {
    if (message.type === 'progress') progressHandler(message.progress);
    else if (message.type === 'done' || message.type === 'failed') end(message);
  });
  worker.on('error', (error) => end({ type: 'failed', message: `worker ${init.workerIndex}: ${error.message}` }));
  worker.on('exit', (code) => end({ type: 'failed', message: `worker ${init.workerIndex} exited with code ${code}` }));
  return {
    post: (message) => worker.postMessage(message),
    onProgress: (handler) => { progressHandler = handler; },
    onFailure: (handler) => { failureHandler = handler; },
    finish: () => {
      worker.postMessage({ type: 'finish' } satisfies MainToWorker);
      return final;
    },
    terminate: () => void worker.terminate(),
  };
}

function generatorHealth(progress: WorkerProgress[], elapsedMs: number): GeneratorHealth {
  const lag = Math.max(0, ...progress.map((p) => p.eventLoopLagMsP99));
  const cpuShare = Math.max(0, ...progress.map((p) => p.cpuMs / Math.max(1, elapsedMs)));
  const health: GeneratorHealth = { cpuPercent: Math.round(cpuShare * 100), eventLoopLagMsP99: Math.round(lag) };
  if (lag > GENERATOR_LAG_WARN_MS || cpuShare > GENERATOR_CPU_WARN_SHARE) {
    health.warning = `the load generator was the bottleneck (worker event-loop lag p99 ${health.eventLoopLagMsP99} ms, CPU ${health.cpuPercent}% of a core): latencies include the generator's own delay; use fewer phones or more cores`;
  }
  return health;
}
