import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { checkHistory } from './checkAll.ts';
import type { PropertyResult, RunFacts } from './PropertyResult.ts';

const CORE_IDS = new Set(['A4', 'A5', 'B1', 'F1']);

/**
 * The core checks a run's verdict first rested on (A4, A5, B1, F1), now a view of the full
 * catalogue in checkAll.ts, kept for callers that want only these four.
 */
export function runCoreCheckers(events: Iterable<HistoryEvent>, facts: RunFacts): PropertyResult[] {
  return checkHistory(events, facts, { seed: 0, reproduce: '' }).filter((r) => CORE_IDS.has(r.id));
}
