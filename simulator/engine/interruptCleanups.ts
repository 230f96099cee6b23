/**
 * What must be released if the process is interrupted (Ctrl-C) mid-run: a started cluster's
 * child processes, its Cassandra keyspace and Redis prefix, a local Redis. The live engine
 * registers its cluster's stop here while the cluster runs; the CLI's signal handler
 * (bin/interrupt.ts) runs whatever is registered before it exits. Without this an interrupted
 * multi-process run left a keyspace and a Redis namespace behind.
 */
const cleanups = new Set<() => Promise<void>>();

/** Registers `cleanup` until the returned function is called. */
export function addInterruptCleanup(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => { cleanups.delete(cleanup); };
}

/** Runs every registered cleanup once, at the same time; failures are ignored (the process is ending). */
export async function runInterruptCleanups(): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  await Promise.allSettled(pending.map((cleanup) => cleanup()));
}
