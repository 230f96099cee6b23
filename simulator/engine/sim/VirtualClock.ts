import type { ManualTime } from '../../../server/memory/ManualTime.ts';
import { yieldToMacrotask } from '../../runtime/yieldToMacrotask.ts';
import type { RunClock } from '../runSkeleton.ts';

/**
 * The simulation engine's RunClock: moves virtual time one instant at a time, letting each
 * instant's promise callbacks run before the next, so nothing reads the wall clock.
 */
export class VirtualClock implements RunClock {
  constructor(readonly time: ManualTime) {}

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
