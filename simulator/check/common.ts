import type { HistoryEvent } from '../history/HistoryEvent.ts';
import type { PropertyResult, RunFacts } from './PropertyResult.ts';
import { DEFAULT_LIMITS } from '../../server/protocol/limits.ts';
import { DEFAULT_PHONE_OPTIONS } from '../phone/PhoneOptions.ts';

/** Examples kept per property: enough to explain, few enough to read. */
export const EXAMPLES_MAX = 3;

/** Everything the checkers may know besides the history; every extra is optional so old runs still check. */
export interface CheckFacts extends RunFacts {
  /** Server offline debounce (scenario cluster.presenceDebounceMs); 30 s by default. */
  presenceDebounceMs?: number;
  /** Presence entry TTL (server limits.presenceTtlMs); 90 s by default. */
  presenceTtlMs?: number;
  /** The phone's read debounce (PhoneOptions.readDebounceMs); 500 ms by default. */
  readDebounceMs?: number;
  /** Slack for timers, clocks of several processes and delivery: 250 ms by default. */
  toleranceMs?: number;
  /**
   * Slack for cause before effect across devices (a receipt sent before the tick it causes):
   * 2 ms by default. Every phone of a run stamps events from one wall clock (worker threads
   * of one process), so a cause is never stamped after its effect; the slack covers ms ties.
   */
  causalSlackMs?: number;
  /** How long a presence change may take to reach a connected friend, and a receipt the tick it implies to a connected sender (B5, B7): 5 s by default. */
  propagationMs?: number;
  /** A typing notice older than this (after the typer's last typing frame) is stale: 6 s by default. */
  typingTimeoutMs?: number;
  /** Who may see whose presence (user -> friends); without it A10 cannot judge presence. */
  friendsOfUser?: Map<string, string[]>;
  /** Store ground truth after the run: chat -> seq -> stored clientMsgId (B2). */
  persisted?: Map<string, Map<number, string>>;
  /** Optional gate for A11 (fan-out latency metric), ms. */
  fanOutGateMs?: number;
  /** How far a chat server's wall clock may be off the run's (skews and clock-jumps): message `ts` (render `storedAt`) is that uncertain. */
  serverClockOffsetMaxMs?: number;
}

export interface CheckContext {
  seed: number;
  reproduce: string;
}

/** Settings with their defaults filled in. */
export interface Settings {
  debounceMs: number;
  ttlMs: number;
  readDebounceMs: number;
  tolMs: number;
  causalSlackMs: number;
  propagationMs: number;
  typingTimeoutMs: number;
  serverClockOffsetMaxMs: number;
}

export function settingsOf(facts: CheckFacts): Settings {
  return {
    // The server's and the phone's own defaults: one source for each (issue 16).
    debounceMs: facts.presenceDebounceMs ?? DEFAULT_LIMITS.presenceDebounceMs,
    ttlMs: facts.presenceTtlMs ?? DEFAULT_LIMITS.presenceTtlMs,
    readDebounceMs: facts.readDebounceMs ?? DEFAULT_PHONE_OPTIONS.readDebounceMs,
    tolMs: facts.toleranceMs ?? 250,
    causalSlackMs: facts.causalSlackMs ?? 2,
    propagationMs: facts.propagationMs ?? 5_000,
    typingTimeoutMs: facts.typingTimeoutMs ?? 6_000,
    serverClockOffsetMaxMs: facts.serverClockOffsetMaxMs ?? 0,
  };
}

/** A family of properties: sees every event once (in time order), then judges. */
export interface Family {
  observe(e: HistoryEvent): void;
  finish(): PropertyResult[];
}

/** Counts violations and keeps the worst few examples; the text is built only if it is kept. */
export class Finding {
  violations = 0;
  private readonly kept: Array<{ score: number; text: string }> = [];

  hit(score: number, text: () => string): void {
    this.violations++;
    if (this.kept.length >= EXAMPLES_MAX && score <= this.kept[this.kept.length - 1]!.score) return;
    this.kept.push({ score, text: text() });
    this.kept.sort((a, b) => b.score - a.score);
    if (this.kept.length > EXAMPLES_MAX) this.kept.pop();
  }

  examples(): string[] {
    return this.kept.map((k) => k.text);
  }

  result(id: string, name: string, reason?: string): PropertyResult {
    const r: PropertyResult = { id, name, verdict: this.violations === 0 ? 'pass' : 'fail', violations: this.violations, examples: this.examples() };
    return reason === undefined ? r : { ...r, reason };
  }
}

export function unknown(id: string, name: string, reason: string): PropertyResult {
  return { id, name, verdict: 'unknown', violations: 0, examples: [], reason };
}

export function fmt(tMs: number): string {
  return `${(tMs / 1000).toFixed(3)} s`;
}

export function userOf(p: string): string {
  const slash = p.indexOf('/');
  return slash < 0 ? p : p.slice(0, slash);
}

export function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}
