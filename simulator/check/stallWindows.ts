import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { getOr } from './common.ts';

/**
 * Per device, the stretches its network was frozen (oracle `stall-start` / `stall-end`): frames
 * are held both ways and released in order at the end, the link stays up. A time bound on a
 * frame reaching the device (presence D2 and D3, a late push of D1/D5) is moved by them: a
 * stall is a fault of the device's network, and what it holds is late by design, by at most
 * the time it held it. The run's heal ends every stall, so the end-of-run bounds never need it.
 */
export class StallWindows {
  /** device -> [start, end] in start order (end Infinity while on). */
  private readonly byDevice = new Map<string, Array<[number, number]>>();

  observe(e: HistoryEvent): void {
    if (e.type !== 'oracle') return;
    if (e.what === 'stall-start') getOr(this.byDevice, e.device, () => []).push([e.t, Infinity]);
    else if (e.what === 'stall-end') {
      const last = this.byDevice.get(e.device)?.at(-1);
      if (last && last[1] === Infinity) last[1] = e.t;
    }
  }

  /**
   * A frame owed to `device` between `fromMs` and `dueMs` may wait out each of its stalls
   * that overlaps that stretch: the due time moves on by the time each held it (a stall on
   * at fromMs counts from fromMs), and a stall still on never lets it come due.
   */
  extend(device: string, fromMs: number, dueMs: number): number {
    let due = dueMs;
    for (const [start, end] of this.byDevice.get(device) ?? []) {
      if (start > due || end <= fromMs) continue;
      due += end - Math.max(start, fromMs);
    }
    return due;
  }

  /**
   * How far back from `t` a frame heard by `device` at `t` may have left, given that it
   * travels within `windowMs`: the window, and before it every stall of the device that
   * overlaps the stretch (whole, as the frame may have been held since the stall began).
   */
  sentFrom(device: string, t: number, windowMs: number): number {
    let from = t - windowMs;
    const list = this.byDevice.get(device) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const [start, end] = list[i]!;
      if (start >= t || end < from) continue;
      from = Math.min(from, start - windowMs);
    }
    return from;
  }
}
