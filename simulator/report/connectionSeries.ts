import type { HistoryEvent } from '../history/HistoryEvent.ts';
import type { ConnectionSeries } from './timeSeriesCharts.ts';

/**
 * Per second since t = 0, from a run's history: devices connected at the end of each second
 * (a `connect` not yet followed by a `disconnect`), and connections made by devices that had
 * been connected before (reconnects) during it.
 */
export function connectionSeries(events: readonly HistoryEvent[]): ConnectionSeries {
  const everConnected = new Set<string>();
  const connectedNow = new Set<string>();
  const connected: number[] = [];
  const reconnects: number[] = [];
  let second = 0;
  const closeSecondsUpTo = (s: number): void => {
    while (second < s) {
      connected[second] = connectedNow.size;
      reconnects[second] ??= 0;
      second++;
    }
  };
  for (const e of events) {
    if (e.type !== 'connect' && e.type !== 'disconnect') continue;
    const s = Math.max(0, Math.floor(e.t / 1000));
    closeSecondsUpTo(s);
    if (e.type === 'connect') {
      if (everConnected.has(e.p)) reconnects[s] = (reconnects[s] ?? 0) + 1;
      everConnected.add(e.p);
      connectedNow.add(e.p);
    } else {
      connectedNow.delete(e.p);
    }
  }
  closeSecondsUpTo(second + 1);
  return { connected, reconnects };
}
