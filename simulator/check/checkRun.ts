import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { checkHistory } from './checkAll.ts';
import { runCoreCheckers } from './coreCheckers.ts';
import type { PropertyResult, RunFacts } from './PropertyResult.ts';

/** What the checkers need to know of a run besides its history and facts. */
export interface CheckSettings {
  presenceDebounceMs: number;
  /** The cluster's presence TTL (limits.presenceTtlMs), when the scenario sets one. */
  presenceTtlMs?: number;
  /** How far chat servers' wall clocks may be off (scenario clocks and clock-jumps); 0 when true. */
  serverClockOffsetMaxMs?: number;
  /** Who may see whose presence (A10); from the population's friendships. */
  friendsOfUser?: Map<string, string[]>;
  seed: number;
  reproduce: string;
  /** 'all' (default): the whole catalogue A1-F2. 'core': A4, A5, B1, F1 only (older runs, quick gates). */
  checks?: 'core' | 'all';
}

/**
 * The one entry point both `chatsim run` and `chatsim check` use for the verdict, so a saved
 * run re-checks exactly as it was judged.
 */
export function checkRun(events: HistoryEvent[], facts: RunFacts, settings: CheckSettings): PropertyResult[] {
  if (settings.checks === 'core') return runCoreCheckers(events, facts);
  return checkHistory(events, {
    ...facts,
    presenceDebounceMs: settings.presenceDebounceMs,
    ...(settings.presenceTtlMs !== undefined ? { presenceTtlMs: settings.presenceTtlMs } : {}),
    ...(settings.friendsOfUser ? { friendsOfUser: settings.friendsOfUser } : {}),
    ...(settings.serverClockOffsetMaxMs ? { serverClockOffsetMaxMs: settings.serverClockOffsetMaxMs } : {}),
  }, { seed: settings.seed, reproduce: settings.reproduce });
}
