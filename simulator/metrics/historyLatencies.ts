import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { FanOutTracker } from './fanOut.ts';
import type { LatencyMetric } from './MetricsSink.ts';

/** Where the samples go; `atEpochMs` places each on the timeline (Metrics.observeAt). */
export interface TimedSink {
  observeAt(metric: LatencyMetric, value: number, atEpochMs: number): void;
}

/**
 * Latencies that need every device's view of a message, so they are computed from the merged
 * history after the run, in one pass with hash maps:
 *
 * - `sendToDelivered`, per recipient device: from the sender's send (invoke) to this device's
 *   render, by push or by sync. A device that was offline for a minute contributes a minute:
 *   that is what its user saw.
 * - `fanOut`, per message: from the server storing it to the last render by push on any
 *   member device (FanOutTracker, the definition A11 uses too).
 */
export function observeHistoryLatencies(events: Iterable<HistoryEvent>, runStartEpochMs: number, metrics: TimedSink): void {
  const invokedAt = new Map<string, number>();
  const fanOut = new FanOutTracker();
  for (const event of events) {
    if (event.type === 'invoke' && event.op === 'send') {
      invokedAt.set(`${userOf(event.p)}|${event.clientMsgId}`, event.t);
    } else if (event.type === 'render') {
      const sentT = invokedAt.get(`${event.from}|${event.clientMsgId}`);
      if (sentT !== undefined) metrics.observeAt('sendToDelivered', Math.max(0, event.t - sentT), runStartEpochMs + event.t);
      fanOut.onRender(event);
    }
  }
  for (const { ms, lastT } of fanOut.samples()) metrics.observeAt('fanOut', ms, runStartEpochMs + lastT);
}

function userOf(p: string): string {
  const slash = p.indexOf('/');
  return slash < 0 ? p : p.slice(0, slash);
}
