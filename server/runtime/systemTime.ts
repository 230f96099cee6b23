// The one module in server/ that touches the real wall clock and real timers. Everything
// else receives a TimeSource, so the simulation engine can hand it a virtual one instead.
import type { TimeSource, TimerHandle } from '../ports/Clock.ts';

export function createSystemTime(): TimeSource {
  let lastMs = 0;
  return {
    nowMs(): number {
      // Date.now can step backwards (NTP); the Clock contract says it never decreases.
      lastMs = Math.max(lastMs, Date.now());
      return lastMs;
    },
    schedule(delayMs: number, fn: () => void): TimerHandle {
      const handle = setTimeout(fn, Math.max(0, delayMs));
      handle.unref?.();
      return { cancel: () => clearTimeout(handle) };
    },
    every(periodMs: number, fn: () => void): TimerHandle {
      const handle = setInterval(fn, Math.max(1, periodMs));
      handle.unref?.();
      return { cancel: () => clearInterval(handle) };
    },
  };
}
