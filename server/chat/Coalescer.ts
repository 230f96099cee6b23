/**
 * Runs at most one task per key at a time, and folds every request that arrives while one is
 * running into a single follow-up run.
 *
 * Contract:
 * - `run(key, task)` resolves (or rejects) with a run of a task for `key` that *starts after*
 *   the call: whatever the caller wrote before calling is visible to that run.
 * - Runs of one key never overlap; runs of different keys are independent.
 * - Requests made while a run is under way share one queued run (the task of the first of
 *   them is used: tasks given for one key must be interchangeable).
 * - A failing run rejects every caller that shared it; the next request starts afresh.
 *
 * Why: a read receipt in a 1,000-member group makes the chat server recompute that chat's
 * ticks (O(members)). Receipts of many members arrive together; recomputing once for all of
 * them keeps the work per chat bounded by one computation at a time instead of one per
 * receipt, with no added delay when the chat is quiet.
 */
export class Coalescer {
  private readonly lanes = new Map<string, Lane>();

  run(key: string, task: () => Promise<void>): Promise<void> {
    const lane = this.lanes.get(key) ?? this.open(key);
    if (lane.queued) return lane.queued;
    const queued: Promise<void> = lane.tail.then(ignore, ignore).then(() => {
      if (lane.queued === queued) lane.queued = undefined; // later requests queue behind this run
      return task();
    });
    lane.queued = queued;
    lane.tail = queued;
    const close = (): void => {
      if (lane.tail === queued && this.lanes.get(key) === lane) this.lanes.delete(key);
    };
    queued.then(close, close);
    return queued;
  }

  /** Keys with a run under way or queued (for tests and stats). */
  get activeKeys(): number {
    return this.lanes.size;
  }

  private open(key: string): Lane {
    const lane: Lane = { tail: Promise.resolve(), queued: undefined };
    this.lanes.set(key, lane);
    return lane;
  }
}

interface Lane {
  /** The last run started or queued; the next queued run starts after it settles. */
  tail: Promise<void>;
  /** A run not yet started, which new requests join. */
  queued: Promise<void> | undefined;
}

function ignore(): void {}
