import type { TimeSource, TimerHandle } from '../ports/Clock.ts';

interface PendingTimer {
  dueMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A virtual TimeSource: time moves only when `advance` is called. Timers due at the same
 * instant fire in scheduling order. Used by tests ("fake time") and the simulation engine.
 */
export class ManualTime implements TimeSource {
  private currentMs: number;
  private nextOrder = 0;
  private readonly pending: PendingTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { dueMs: this.currentMs + Math.max(0, delayMs), order: this.nextOrder++, fn, cancelled: false };
    this.pending.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  every(periodMs: number, fn: () => void): TimerHandle {
    let inner: TimerHandle | undefined;
    let cancelled = false;
    const tick = (): void => {
      if (cancelled) return;
      inner = this.schedule(periodMs, tick);
      fn();
    };
    inner = this.schedule(periodMs, tick);
    return { cancel: () => { cancelled = true; inner?.cancel(); } };
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in due order. */
  advance(ms: number): void {
    const targetMs = this.currentMs + ms;
    for (;;) {
      const next = this.takeNextDue(targetMs);
      if (!next) break;
      this.currentMs = next.dueMs;
      next.fn();
    }
    this.currentMs = targetMs;
  }

  /** Number of timers not yet fired or cancelled. */
  pendingCount(): number {
    return this.pending.filter((t) => !t.cancelled).length;
  }

  private takeNextDue(limitMs: number): PendingTimer | undefined {
    let bestIndex = -1;
    for (let i = 0; i < this.pending.length; i++) {
      const t = this.pending[i]!;
      if (t.cancelled || t.dueMs > limitMs) continue;
      const best = bestIndex < 0 ? undefined : this.pending[bestIndex]!;
      if (!best || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.order < best.order)) bestIndex = i;
    }
    if (bestIndex < 0) {
      this.compact();
      return undefined;
    }
    return this.pending.splice(bestIndex, 1)[0];
  }

  private compact(): void {
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]!.cancelled) this.pending.splice(i, 1);
  }
}
