import { createCassandraClient } from '../../server/cassandra/client.ts';

/**
 * Helpers shared by the port contract suites. They use real timers on purpose: the suites must
 * also run against real backends (Redis, Cassandra) where delivery is genuinely asynchronous.
 */

export interface EventuallyOptions {
  /** Give up after this long (real time). */
  timeoutMs?: number;
  /** Poll period. */
  intervalMs?: number;
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after the current macrotask queue turn: every queued microtask has run by then. */
export function flushAsync(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Calls `fn` until it returns without throwing (an `expect` inside it passing) and returns its
 * result; rethrows the last failure once `timeoutMs` has passed.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const intervalMs = options.intervalMs ?? 5;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await sleep(intervalMs);
  }
}

/** Whether `promise` settles within `ms` of real time (it is left running either way). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  const settled = promise.then(() => true as const, () => true as const);
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

let idCounter = 0;
const runTag = Math.random().toString(36).slice(2, 8);

/**
 * An id no other test (in this process or another one sharing a real backend) uses:
 * a per-process random tag plus a counter.
 */
export function uniqueId(prefix: string): string {
  idCounter++;
  return `${prefix}-${runTag}-${idCounter}`;
}

/**
 * Runs a mutation of something a port returned. Implementations may hand out frozen objects;
 * a TypeError from writing to one is fine, since the point is only that the store is unaffected.
 */
export function tryMutate(mutate: () => void): void {
  try {
    mutate();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

/** Why Cassandra at `contactPoint` cannot be reached (first line of the driver's error), or undefined when it answers. */
export async function cassandraUnreachable(contactPoint: string): Promise<string | undefined> {
  const client = createCassandraClient(contactPoint, { connectTimeoutMs: 3_000 });
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  } finally {
    await client.shutdown().catch(() => {});
  }
}
