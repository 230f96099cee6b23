import type { TimerHandle, Timers } from '../../server/ports/Clock.ts';

/**
 * Every timer a phone owns, so `stop()` can cancel them all at once and nothing fires after
 * it. Handles remove themselves when they fire or are cancelled, so the bag stays small.
 */
export class TimerBag {
  private readonly live = new Set<TimerHandle>();
  private closed = false;

  constructor(private readonly timers: Timers) {}

  schedule(delayMs: number, fn: () => void): TimerHandle {
    if (this.closed) return { cancel: () => {} };
    const inner = this.timers.schedule(delayMs, () => {
      this.live.delete(handle);
      fn();
    });
    const handle: TimerHandle = { cancel: () => { this.live.delete(handle); inner.cancel(); } };
    this.live.add(handle);
    return handle;
  }

  every(periodMs: number, fn: () => void): TimerHandle {
    if (this.closed) return { cancel: () => {} };
    const inner = this.timers.every(periodMs, fn);
    const handle: TimerHandle = { cancel: () => { this.live.delete(handle); inner.cancel(); } };
    this.live.add(handle);
    return handle;
  }

  /** Cancels everything; later schedules are no-ops. */
  close(): void {
    this.closed = true;
    for (const handle of [...this.live]) handle.cancel();
    this.live.clear();
  }

  get size(): number {
    return this.live.size;
  }
}
