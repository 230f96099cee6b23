import type { TimeSource } from '../../../server/ports/Clock.ts';
import type { RunClock } from '../runSkeleton.ts';

/** The live engine's RunClock: time goes by on its own; waiting is all there is to do. */
export class WallClock implements RunClock {
  constructor(readonly time: TimeSource) {}

  runUntil(epochMs: number, stopEarly?: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.time.schedule(epochMs - this.time.nowMs(), resolve);
      void stopEarly?.then(() => { timer.cancel(); resolve(); });
    });
  }

  settle<T>(work: Promise<T>): Promise<T> {
    return work;
  }
}
