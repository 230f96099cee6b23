// Child processes for the benchmarks: each server and each load generator runs in its own
// process (TypeScript loaded through tsx, as bin/chatsim.js does), so CPU time and RSS read
// from /proc belong to one side only. Parent and child talk over the IPC channel.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { sampleProcess, type ProcSample } from './proc.ts';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = join(BENCH_DIR, '..');

const live = new Set<ChildProcess>();
let exitHooked = false;

/** Kills every child still running (on exit, Ctrl-C, or a failed benchmark). */
export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAllChildren();
      process.exit(130);
    });
  }
}

export interface BenchChild {
  readonly pid: number;
  /** Sends a command and waits for its answer (rejects after `timeoutMs` or if the child dies). */
  request<T = unknown>(command: string, args?: unknown, timeoutMs?: number): Promise<T>;
  sample(): ProcSample;
  /** Graceful stop, then SIGKILL after a second. */
  stop(): Promise<void>;
  /** What the child printed on stderr (last 4 KB), for error messages. */
  stderrTail(): string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Starts `bench/<file>` with tsx and waits for it to say it is ready (its first IPC message).
 * `nodeArgs` go to node itself (--expose-gc, --cpu-prof, --max-old-space-size=...).
 */
export async function startChild(file: string, options: { args?: string[]; nodeArgs?: string[]; readyTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<BenchChild> {
  hookExit();
  const child = fork(join(BENCH_DIR, file), options.args ?? [], {
    execArgv: ['--import', 'tsx', ...(options.nodeArgs ?? [])],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    cwd: REPO_DIR,
    env: { ...process.env, ...options.env },
  });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    live.delete(child);
    exited = `exited (code ${code}, signal ${signal})`;
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`${file} ${exited}: ${stderr.slice(-600)}`));
    }
    pending.clear();
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} not ready after ${options.readyTimeoutMs ?? 30_000} ms: ${stderr.slice(-600)}`)), options.readyTimeoutMs ?? 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${file} ${exited}: ${stderr.slice(-600)}`));
    });
    child.on('message', (raw) => {
      const message = raw as { ready?: true; id?: number; ok?: boolean; value?: unknown; error?: string };
      if (message.ready) {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (message.id === undefined) return;
      const p = pending.get(message.id);
      if (!p) return;
      pending.delete(message.id);
      clearTimeout(p.timer);
      if (message.ok) p.resolve(message.value);
      else p.reject(new Error(`${file}: ${message.error ?? 'failed'}`));
    });
  });
  await ready;
  const pid = child.pid!;
  return {
    pid,
    request<T>(command: string, args?: unknown, timeoutMs = 60_000): Promise<T> {
      if (exited) return Promise.reject(new Error(`${file} ${exited}`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${file}: ${command} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        child.send({ id, command, args });
      });
    },
    sample(): ProcSample {
      const s = sampleProcess(pid);
      if (!s) throw new Error(`${file} (pid ${pid}) is gone`);
      return s;
    },
    async stop(): Promise<void> {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
      await gone;
      clearTimeout(timer);
    },
    stderrTail: () => stderr,
  };
}

export type Handler = (args: never) => unknown;

/**
 * The child side: answers the parent's commands with `handlers`, then says it is ready. A
 * command that throws answers with its message. SIGTERM (or the parent going away) ends it.
 */
export function serveParent(handlers: Record<string, (args: never) => unknown>, onStop?: () => Promise<void> | void): void {
  process.on('message', (raw) => {
    const { id, command, args } = raw as { id: number; command: string; args: never };
    const handler = handlers[command];
    void (async () => {
      try {
        if (!handler) throw new Error(`unknown command ${command}`);
        const value = await handler(args);
        process.send?.({ id, ok: true, value });
      } catch (error) {
        process.send?.({ id, ok: false, error: (error as Error).stack ?? String(error) });
      }
    })();
  });
  const stop = (): void => {
    void Promise.resolve(onStop?.()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  process.send?.({ ready: true });
}

/**
 * Runs a full GC if the process was started with --expose-gc (twice: weak refs, finalizers),
 * and answers the process's memory afterwards.
 */
export function collectGarbage(): { collected: boolean; memory: NodeJS.MemoryUsage } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return { collected: gc !== undefined, memory: process.memoryUsage() };
}
