import type { HistoryEvent } from '../history/HistoryEvent.ts';

type Render = Extract<HistoryEvent, { type: 'render' }>;

/** One message's fan-out: from the server storing it to its last render by push on a member device. */
export interface FanOutSample {
  chat: string;
  seq: number;
  /** History ms the server stored the message (the first push render's `storedAt`). */
  storedAt: number;
  /** History ms of the last push render, and on which device. */
  lastT: number;
  lastP: string;
  /** Push renders seen. */
  pushes: number;
  /** `lastT - storedAt`, never negative. */
  ms: number;
}

/**
 * The one definition of fan-out, shared by the run's metrics (historyLatencies), the tagged
 * samples and the checker A11, so one run gives one fan-out p99 everywhere: per message, from
 * the server storing it to the last render by push on any member device. Renders by sync are
 * left out: they measure when a phone came back, not the fan-out. Live runs share one machine
 * clock between server and phones, so the difference is meaningful.
 */
export class FanOutTracker {
  private readonly messages = new Map<string, Omit<FanOutSample, 'ms'>>();

  onRender(e: Render): void {
    if (e.via !== 'push' || e.storedAt === undefined) return;
    const key = `${e.chat}|${e.seq}`;
    const entry = this.messages.get(key);
    if (!entry) {
      this.messages.set(key, { chat: e.chat, seq: e.seq, storedAt: e.storedAt, lastT: e.t, lastP: e.p, pushes: 1 });
      return;
    }
    entry.pushes++;
    if (e.t > entry.lastT) { entry.lastT = e.t; entry.lastP = e.p; }
  }

  *samples(): IterableIterator<FanOutSample> {
    for (const m of this.messages.values()) yield { ...m, ms: Math.max(0, m.lastT - m.storedAt) };
  }
}
