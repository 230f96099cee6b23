import type { TimeSource, TimerHandle } from '../ports/Clock.ts';

interface PendingTimer {
  dueMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A virtual TimeSource: time moves only when `advance` (tests) or `fireNextInstant` (the
 * simulation engine) is called. Timers due at the same instant fire in scheduling order.
 * Pending timers sit in a binary heap keyed by (due time, scheduling order): the simulation
 * holds hundreds of thousands of them.
 */
export class ManualTime implements TimeSource {
  private currentMs: number;
  private nextOrder = 0;
  private readonly heap: PendingTimer[] = [];
  private live = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { dueMs: this.currentMs + Math.max(0, delayMs), order: this.nextOrder++, fn, cancelled: false };
    this.push(timer);
    this.live++;
    return {
      cancel: () => {
        if (timer.cancelled) return;
        timer.cancelled = true;
        this.live--;
      },
    };
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
      const next = this.popDue(targetMs);
      if (!next) break;
      this.currentMs = next.dueMs;
      next.fn();
    }
    this.currentMs = targetMs;
  }

  /** When the earliest pending timer is due, or undefined when none is pending. */
  nextDueMs(): number | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.dueMs;
  }

  /**
   * Moves time to the earliest pending timer (if it is due by `limitMs`) and fires every timer
   * due at that instant that was pending when it began; returns false when none was due. The
   * simulation engine lets promise callbacks settle between two instants.
   */
  fireNextInstant(limitMs: number): boolean {
    const dueMs = this.nextDueMs();
    if (dueMs === undefined || dueMs > limitMs) return false;
    this.currentMs = Math.max(this.currentMs, dueMs);
    const lastOrder = this.nextOrder;
    for (;;) {
      this.dropCancelledTop();
      const top = this.heap[0];
      if (!top || top.dueMs > dueMs || top.order >= lastOrder) break;
      this.pop();
      top.cancelled = true;
      this.live--;
      top.fn();
    }
    return true;
  }

  /** Moves the clock to `ms` without firing anything (the caller fired what was due). */
  jumpTo(ms: number): void {
    this.currentMs = Math.max(this.currentMs, ms);
  }

  /** Number of timers not yet fired or cancelled. */
  pendingCount(): number {
    return this.live;
  }

  private popDue(limitMs: number): PendingTimer | undefined {
    this.dropCancelledTop();
    const top = this.heap[0];
    if (!top || top.dueMs > limitMs) return undefined;
    this.pop();
    top.cancelled = true;
    this.live--;
    return top;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private static before(a: PendingTimer, b: PendingTimer): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
  }

  private push(timer: PendingTimer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!ManualTime.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && ManualTime.before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && ManualTime.before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
