import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { runCoreCheckers } from './coreCheckers.ts';
import type { PropertyResult, RunFacts } from './PropertyResult.ts';

/** What the checkers need to know of a run besides its history and facts. */
export interface CheckSettings {
  presenceDebounceMs: number;
  seed: number;
  reproduce: string;
}

/**
 * The one entry point both `chatsim run` and `chatsim check` use for the verdict, so a saved
 * run re-checks exactly as it was judged.
 */
export function checkRun(events: HistoryEvent[], facts: RunFacts, _settings: CheckSettings): PropertyResult[] {
  return runCoreCheckers(events, facts);
}
