// Polls GET /v1/health during a fuzz run from a worker thread of its own, so the fuzzer's own
// busy event loop cannot make the server look slow. A poll that gets no 200 within the
// deadline is a slow poll; the fuzz run calls the server hung after a streak of them. Polls that
// overlap a measurement that stops the server on purpose (a forced full GC, `exempt`) count
// neither way.
import { Worker } from 'node:worker_threads';

export interface HealthReport {
  polls: number;
  /** Polls without a 200 within deadlineMs. */
  slow: number;
  /** The longest run of consecutive slow polls. */
  slowStreakMax: number;
  /** Slowest answered poll, in ms. */
  maxMs: number;
  /** Samples of the slow polls: when (ms into the watch) and why. */
  slowSamples: string[];
  /** Polls that overlapped an exempt window (a forced GC), not judged. */
  exempt: number;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, intervalMs, deadlineMs } = workerData;
const report = { polls: 0, slow: 0, slowStreakMax: 0, maxMs: 0, slowSamples: [], exempt: 0 };
let streak = 0;
let stopped = false;
let exempting = 0;
let exemptGeneration = 0;
let exemptUntil = 0;
const started = Date.now();
parentPort.on('message', (m) => {
  if (m === 'stop') stopped = true;
  else if (m === 'exempt-start') { exempting++; exemptGeneration++; }
  else if (m === 'exempt-end') { exempting--; exemptUntil = Date.now() + 1000; }
});
(async () => {
  while (!stopped) {
    const t0 = Date.now();
    const generation = exemptGeneration;
    let ok = false;
    let why = '';
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(deadlineMs) });
      await res.arrayBuffer();
      ok = res.status === 200;
      why = 'status ' + res.status;
    } catch (error) {
      why = error && error.name === 'TimeoutError' ? 'no answer within ' + deadlineMs + ' ms' : String(error && error.cause ? error.cause.code || error.cause : error);
    }
    const ms = Date.now() - t0;
    report.polls++;
    if (exempting > 0 || generation !== exemptGeneration || Date.now() < exemptUntil) {
      report.exempt++;
    } else if (ok && ms <= deadlineMs) {
      streak = 0;
      report.maxMs = Math.max(report.maxMs, ms);
    } else {
      report.slow++;
      streak++;
      report.slowStreakMax = Math.max(report.slowStreakMax, streak);
      if (report.slowSamples.length < 5) report.slowSamples.push((t0 - started) + ' ms: ' + (ok ? 'answered after ' + ms + ' ms' : why));
    }
    parentPort.postMessage(report);
    await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - ms)));
  }
  parentPort.postMessage({ done: true, report });
})();
`;

export class HealthWatch {
  private latest: HealthReport = { polls: 0, slow: 0, slowStreakMax: 0, maxMs: 0, slowSamples: [], exempt: 0 };
  private readonly worker: Worker;
  private readonly done: Promise<HealthReport>;

  constructor(httpUrl: string, options: { intervalMs?: number; deadlineMs?: number } = {}) {
    this.worker = new Worker(WORKER, { eval: true, workerData: { url: `${httpUrl}/v1/health`, intervalMs: options.intervalMs ?? 250, deadlineMs: options.deadlineMs ?? 1000 } });
    this.done = new Promise((resolve) => {
      this.worker.on('message', (m: HealthReport | { done: true; report: HealthReport }) => {
        if ('done' in m) resolve(m.report);
        else this.latest = m;
      });
      this.worker.on('error', () => resolve(this.latest));
      this.worker.on('exit', () => resolve(this.latest));
    });
  }

  /** The report so far. */
  get report(): HealthReport {
    return this.latest;
  }

  /** Runs `work` (which stops the server on purpose) with the polls meanwhile, and for 1 s after, not judged. */
  async exempt<T>(work: () => Promise<T>): Promise<T> {
    this.worker.postMessage('exempt-start');
    try {
      return await work();
    } finally {
      this.worker.postMessage('exempt-end');
    }
  }

  async stop(): Promise<HealthReport> {
    this.worker.postMessage('stop');
    const report = await this.done;
    await this.worker.terminate();
    return report;
  }
}
