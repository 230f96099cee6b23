import type { HistoryEvent } from '../history/HistoryEvent.ts';
import type { PropertyResult, RunFacts } from './PropertyResult.ts';

/** Examples kept per property: enough to explain, few enough to read. */
const EXAMPLES_MAX = 3;

/**
 * The core safety and liveness checks a run's verdict rests on, in one linear pass over the
 * history with hash maps: A4 no duplicates, A5 no lost acknowledged message, B1 ticks never
 * go back, F1 convergence (no send still pending after the heal). The full catalogue
 * (issue 4) builds on the same shape.
 */
export function runCoreCheckers(events: Iterable<HistoryEvent>, facts: RunFacts): PropertyResult[] {
  const rendered = new Map<string, Map<string, number>>(); // device -> "chat#seq" -> times
  const acked = new Map<string, { chat: string; seq: number; clientMsgId: string; p: string; t: number }>();
  const ticks = new Map<string, { tick: string; t: number }>(); // device|clientMsgId -> last tick
  const invoked = new Map<string, { p: string; t: number; chat: string }>();
  const completed = new Set<string>();
  /** Last link event per device: liveness is only owed to devices connected at the end. */
  const linkAtEnd = new Map<string, 'connect' | 'disconnect'>();
  const a4: string[] = [];
  const b1: string[] = [];
  let a4Count = 0;
  let b1Count = 0;
  const order = { sent: 1, delivered: 2, read: 3 } as const;
  /** chat -> user -> joinedAtSeq, as scenario events change it (oracle member / member-removed). */
  const members = new Map<string, Map<string, number>>([...facts.chatMembers].map(([chat, users]) => [chat, new Map(users.map((u) => [u, 0]))]));

  for (const e of events) {
    switch (e.type) {
      case 'connect':
      case 'disconnect':
        linkAtEnd.set(e.p, e.type);
        break;
      case 'oracle':
        if (e.what === 'member') (members.get(e.chat) ?? members.set(e.chat, new Map()).get(e.chat)!).set(e.user, e.joinedAtSeq);
        else if (e.what === 'member-removed') members.get(e.chat)?.delete(e.user);
        break;
      case 'render': {
        const key = `${e.chat}#${e.seq}`;
        let seen = rendered.get(e.p);
        if (!seen) rendered.set(e.p, (seen = new Map()));
        const times = (seen.get(key) ?? 0) + 1;
        seen.set(key, times);
        if (times === 2) {
          a4Count++;
          if (a4.length < EXAMPLES_MAX) a4.push(`device ${e.p} rendered ${e.chat} seq ${e.seq} twice (again at ${fmt(e.t)} via ${e.via})`);
        }
        break;
      }
      case 'invoke':
        if (e.op === 'send') invoked.set(`${e.p}|${e.clientMsgId}`, { p: e.p, t: e.t, chat: e.chat });
        break;
      case 'ok':
        if (e.op === 'send') {
          completed.add(`${e.p}|${e.clientMsgId}`);
          acked.set(`${e.chat}#${e.seq}`, { chat: e.chat, seq: e.seq, clientMsgId: e.clientMsgId, p: e.p, t: e.t });
        }
        break;
      case 'fail':
      case 'info':
        if (e.op === 'send') completed.add(`${e.p}|${e.clientMsgId}`);
        break;
      case 'tick': {
        const key = `${e.p}|${e.clientMsgId}`;
        const last = ticks.get(key);
        if (last && order[e.tick] < order[last.tick as keyof typeof order]) {
          b1Count++;
          if (b1.length < EXAMPLES_MAX) b1.push(`device ${e.p}: message ${e.clientMsgId} in ${e.chat} went from ${last.tick} (at ${fmt(last.t)}) back to ${e.tick} at ${fmt(e.t)}`);
        }
        if (!last || order[e.tick] >= order[last.tick as keyof typeof order]) ticks.set(key, { tick: e.tick, t: e.t });
        break;
      }
      default:
        break;
    }
  }
  return [
    result('A4', 'no duplicates', a4Count, a4),
    lostAcknowledged(acked, rendered, facts, linkAtEnd, members),
    result('B1', 'ticks never go back', b1Count, b1),
    pendingAfterHeal(invoked, completed, linkAtEnd),
  ];
}

/**
 * A5: every acknowledged message reached every device of every member that was connected at
 * the end (a phone that never came back, or never started, is owed nothing; the result says
 * how many were left out).
 */
function lostAcknowledged(
  acked: Map<string, { chat: string; seq: number; clientMsgId: string; p: string; t: number }>,
  rendered: Map<string, Map<string, number>>,
  facts: RunFacts,
  linkAtEnd: Map<string, 'connect' | 'disconnect'>,
  members: Map<string, Map<string, number>>,
): PropertyResult {
  const examples: string[] = [];
  let violations = 0;
  const absent = new Set<string>();
  for (const [key, message] of acked) {
    // Members at the end who had joined before the message (a user removed mid-run is owed nothing more).
    const owed = [...(members.get(message.chat) ?? [])].filter(([, joined]) => joined < message.seq).map(([user]) => user);
    for (const member of owed) {
      for (const device of facts.devicesOfUser.get(member) ?? []) {
        const p = `${member}/${device}`;
        if (p === message.p) continue;
        if (rendered.get(p)?.has(key)) continue;
        if (linkAtEnd.get(p) !== 'connect') {
          absent.add(p);
          continue;
        }
        violations++;
        if (examples.length < EXAMPLES_MAX) {
          examples.push(`${message.chat} seq ${message.seq} (${message.clientMsgId}) was acknowledged to ${message.p} at ${fmt(message.t)} and never rendered on ${p}`);
        }
      }
    }
  }
  return withAbsent(result('A5', 'no lost acknowledged message', violations, examples), absent.size);
}

/** F1 (sends): after the heal every send completed (ok, fail or info); none is still pending. */
function pendingAfterHeal(invoked: Map<string, { p: string; t: number; chat: string }>, completed: Set<string>, linkAtEnd: Map<string, 'connect' | 'disconnect'>): PropertyResult {
  const examples: string[] = [];
  let violations = 0;
  const absent = new Set<string>();
  for (const [key, send] of invoked) {
    if (completed.has(key)) continue;
    if (linkAtEnd.get(send.p) !== 'connect') {
      absent.add(send.p);
      continue;
    }
    violations++;
    if (examples.length < EXAMPLES_MAX) examples.push(`send ${key.split('|')[1]} from ${send.p} in ${send.chat} invoked at ${fmt(send.t)} never completed`);
  }
  return withAbsent(result('F1', 'convergence after heal (sends)', violations, examples), absent.size);
}

function withAbsent(r: PropertyResult, absentDevices: number): PropertyResult {
  if (absentDevices === 0) return r;
  return { ...r, reason: `${absentDevices} device(s) not connected at the end of the run were not checked (never started, or still offline after the heal)` };
}

function result(id: string, name: string, violations: number, examples: string[]): PropertyResult {
  return { id, name, verdict: violations === 0 ? 'pass' : 'fail', violations, examples };
}

function fmt(tMs: number): string {
  return `${(tMs / 1000).toFixed(3)} s`;
}
