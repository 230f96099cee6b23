import type { HistoryEvent, HistoryRecorder } from '../history/HistoryEvent.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import type { LiveLatencies } from './liveLatency.ts';

/** What the progress line shows, counted from the history as it is recorded. */
export interface RunCounts {
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
}

/** Passes every event on to `inner`, counting sends, acks and renders (and the messages.* counters), and feeding the progress line's live p99s. */
export function countingRecorder(inner: HistoryRecorder, metrics: Metrics, counts: RunCounts, live?: LiveLatencies): HistoryRecorder {
  return {
    record(event: HistoryEvent): void {
      live?.observe(event);
      if (event.type === 'invoke' && event.op === 'send') {
        counts.sent++;
        metrics.increment('messages.sent');
      } else if (event.type === 'ok' && event.op === 'send') {
        counts.acked++;
        metrics.increment('messages.acked');
      } else if (event.type === 'render') {
        counts.delivered++;
        metrics.increment('messages.delivered');
      } else if (event.type === 'error-frame') counts.errors++;
      inner.record(event);
    },
  };
}
