import { groupCapabilities, judgedIfCapable } from '../drivers/DriverCapabilities.ts';
import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { settingsOf, type CheckContext, type CheckFacts, type Family } from './common.ts';
import { MessageLogFamily } from './messageLog.ts';
import { PresenceFamily } from './presence.ts';
import { PROPERTY_NEEDS } from './propertyNeeds.ts';
import type { PropertyResult } from './PropertyResult.ts';
import { RunState } from './runState.ts';
import { SyncFamily } from './sync.ts';
import { TicksFamily } from './ticks.ts';
import { AvailabilityCounter, TypingFamily, availability, convergence } from './system.ts';

export type { CheckContext, CheckFacts } from './common.ts';

/** Every property id the checkers answer, in catalogue order (F3 belongs to the sim engine). */
export const PROPERTY_IDS = [
  'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10', 'A11',
  'B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'C1', 'C2', 'C3',
  'D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7', 'E1', 'F1', 'F2',
] as const;

/**
 * Judges one run's history against the whole catalogue (PROPERTIES.md) in one linear pass with
 * hash maps, then a short end-of-run judgement per family. Events are put in time order first
 * (a stable sort, so each process keeps its own order) because phones in several workers
 * append to one history. Returns one result per id of PROPERTY_IDS; failures carry a
 * `reproduce` line so a report can print it next to the examples.
 */
export function checkHistory(events: Iterable<HistoryEvent>, facts: CheckFacts, context: CheckContext): PropertyResult[] {
  const ordered = inTimeOrder(events);
  const judged = judge(ordered, facts);
  // What the run's phone driver cannot carry is unknown, not failed (facts.driverCapabilities).
  const capable = judged.families.map((r) => judgedIfCapable(r, facts.driverCapabilities, PROPERTY_NEEDS[r.id] ?? []));
  const results = judgedWithoutGroups(ordered, facts, capable);
  results.push(convergence(judged.state, results), availability(judged.counter));
  const byId = new Map(results.map((r) => [r.id, r]));
  return PROPERTY_IDS.map((id) => withReproduce(byId.get(id)!, context));
}

/** Every family over the history, and what convergence and availability read. */
function judge(ordered: HistoryEvent[], facts: CheckFacts): { families: PropertyResult[]; state: RunState; counter: AvailabilityCounter } {
  const settings = settingsOf(facts);
  const state = new RunState(facts);
  const families: Family[] = [
    new MessageLogFamily(state, facts, settings),
    // Phones of this build record 'ready' (hello and every sync done); older histories only
    // show each sync's end, and a second sync right after it (a gap seen while syncing) hid it.
    new TicksFamily(state, facts, settings, ordered.some((e) => e.type === 'ready')),
    new SyncFamily(state, settings),
    new PresenceFamily(state, settings),
    new TypingFamily(settings),
  ];
  const counter = new AvailabilityCounter();
  for (const e of ordered) {
    state.observe(e);
    counter.observe(e);
    for (const family of families) family.observe(e);
  }
  return { families: families.flatMap((f) => f.finish()), state, counter };
}

/**
 * A driver that carries less in group chats (capabilities.groups): each property it can judge
 * for 1:1 chats but not for groups is judged again on the history without the group chats, and
 * its reason says so (a group chat it cannot see is neither a pass nor a fail of it).
 */
function judgedWithoutGroups(ordered: HistoryEvent[], facts: CheckFacts, results: PropertyResult[]): PropertyResult[] {
  const groups = facts.groupChats;
  const inGroups = groupCapabilities(facts.driverCapabilities);
  if (!groups || groups.size === 0 || inGroups === facts.driverCapabilities) return results;
  const lacking = new Map<string, string[]>();
  for (const r of results) {
    const missing = (PROPERTY_NEEDS[r.id] ?? []).filter((need) => !inGroups?.[need]);
    if (r.verdict !== 'unknown' && missing.length > 0) lacking.set(r.id, missing);
  }
  if (lacking.size === 0) return results;
  const direct: CheckFacts = { ...facts, chatMembers: new Map([...facts.chatMembers].filter(([chat]) => !groups.has(chat))), groupChats: new Set() };
  const events = ordered.map((e) => withoutGroups(e, groups)).filter((e): e is HistoryEvent => e !== undefined);
  const again = new Map(judge(events, direct).families.map((r) => [r.id, r]));
  return results.map((r) => {
    const missing = lacking.get(r.id);
    const onDirect = again.get(r.id);
    if (missing === undefined || !onDirect) return r;
    if (onDirect.verdict === 'unknown') return onDirect;
    return { ...onDirect, reason: `judged on 1:1 chats only; its ${groups.size} group chats are unknown: the phone driver does not support ${missing.join(', ')} in group chats` };
  });
}

/** `e` as a history without the group chats would have it: undefined for an event of a group chat. */
function withoutGroups(e: HistoryEvent, groups: ReadonlySet<string>): HistoryEvent | undefined {
  if (e.type === 'view') {
    if (e.chat === undefined || !groups.has(e.chat)) return e;
    const { chat: _group, ...noChatOpen } = e; // a group on screen: no 1:1 chat is visible
    return noChatOpen;
  }
  if ('chat' in e && typeof e.chat === 'string') return groups.has(e.chat) ? undefined : e;
  if (e.type === 'invoke' && e.op === 'sync' && e.watermarks) {
    return { ...e, watermarks: Object.fromEntries(Object.entries(e.watermarks).filter(([chat]) => !groups.has(chat))) };
  }
  if (e.type === 'ok' && e.op === 'sync' && e.chats) return { ...e, chats: e.chats.filter((c) => !groups.has(c.chat)) };
  return e;
}

function withReproduce(r: PropertyResult, context: CheckContext): PropertyResult {
  if (r.verdict !== 'fail') return r;
  return { ...r, reproduce: `seed ${context.seed}: ${context.reproduce}` };
}

/** The events sorted by time, stably; already sorted histories (the usual case) are not copied twice. */
function inTimeOrder(events: Iterable<HistoryEvent>): HistoryEvent[] {
  const list = Array.isArray(events) ? (events as HistoryEvent[]) : [...events];
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.t < list[i - 1]!.t) return [...list].sort((a, b) => a.t - b.t);
  }
  return list;
}
