// Times checkHistory on a synthetic but realistic 1,000,000-event history.
// Run: npx tsx bench/checkHistory.ts [events]
import { pathToFileURL } from 'node:url';
import { checkHistory } from '../simulator/check/checkAll.ts';
import type { HistoryEvent } from '../simulator/history/HistoryEvent.ts';


/** Deterministic PRNG (mulberry32): the same history every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 2,000 users (a quarter with two devices), 1,500 direct chats, 20 groups of 50 and one group
 * of 1,000; every send is acked, rendered on every other member device, acked and read by
 * receipts, with ticks at the sender; devices drop and come back with presence notices, syncs
 * and typing in between.
 */
export function generateHistory(targetEvents: number): { events: HistoryEvent[]; members: Map<string, string[]>; devices: Map<string, string[]> } {
  const random = rng(42);
  const users = Array.from({ length: 2000 }, (_, i) => `u${i}`);
  const devices = new Map(users.map((u, i) => [u, i % 4 === 0 ? ['d1', 'd2'] : ['d1']]));
  const members = new Map<string, string[]>();
  for (let i = 0; i < 1500; i++) members.set(`c${i}`, [users[(2 * i) % 2000]!, users[(2 * i + 1) % 2000]!]);
  for (let g = 0; g < 20; g++) members.set(`g${g}`, Array.from({ length: 50 }, (_, k) => users[(g * 97 + k * 13) % 2000]!));
  members.set('big', users.slice(0, 1000));
  const chats = [...members.keys()];
  const events: HistoryEvent[] = [];
  let t = 0;
  const seqs = new Map<string, number>();
  const lastRead = new Map<string, number>();
  const unread = new Map<string, Array<{ id: string; seq: number }>>();
  for (const [u, ds] of devices) for (const d of ds) events.push({ t, p: `${u}/${d}`, type: 'connect', gateway: 'gw0' });
  let n = 0;
  while (events.length < targetEvents) {
    t += 5;
    const chat = random() < 0.01 ? 'big' : chats[Math.floor(random() * chats.length)]!;
    const ms = members.get(chat)!;
    const from = ms[Math.floor(random() * ms.length)]!;
    const p = `${from}/d1`;
    const id = `m${n++}`;
    const seq = (seqs.get(chat) ?? 0) + 1;
    seqs.set(chat, seq);
    events.push({ t, p, type: 'invoke', op: 'send', chat, clientMsgId: id, body: 'hi' });
    events.push({ t: t + 1, p, type: 'ok', op: 'send', chat, clientMsgId: id, seq, msgId: id });
    events.push({ t: t + 1, p, type: 'tick', chat, clientMsgId: id, seq, tick: 'sent' });
    for (const m of ms) {
      for (const d of devices.get(m)!) {
        const q = `${m}/${d}`;
        if (q === p) continue;
        events.push({ t: t + 2, p: q, type: 'render', chat, seq, from, clientMsgId: id, via: 'push', storedAt: t + 1 });
        if (m !== from && d === 'd1') {
          events.push({ t: t + 3, p: q, type: 'receipt-out', chat, kind: 'delivered', upTo: seq, piggyback: false });
          // The phone debounces reads: at most one per device and chat per 500 ms window.
          // Groups are only delivered to in this history (their members never open them).
          if (ms.length === 2 && t - (lastRead.get(`${q}|${chat}`) ?? -1e9) >= 600) {
            lastRead.set(`${q}|${chat}`, t);
            events.push({ t: t + 4, p: q, type: 'receipt-out', chat, kind: 'read', upTo: seq, piggyback: false });
          }
        }
      }
    }
    events.push({ t: t + 4, p, type: 'tick', chat, clientMsgId: id, seq, tick: 'delivered' });
    if (ms.length === 2) {
      // Read receipts are cumulative: the read covers every earlier unread message of this sender.
      const queue = getUnread(unread, `${chat}|${from}`);
      queue.push({ id, seq });
      if (lastRead.get(`${ms.find((m) => m !== from)}/d1|${chat}`) === t) {
        for (const u of queue) events.push({ t: t + 4, p, type: 'tick', chat, clientMsgId: u.id, seq: u.seq, tick: 'read' });
        queue.length = 0;
      }
    }
    if (random() < 0.05) {
      const friend = `${ms[0]}/d1`;
      events.push({ t: t + 4, p: friend, type: 'presence-seen', user: from, online: true });
      events.push({ t: t + 4, p, type: 'typing-out', chat });
      events.push({ t: t + 4, p: friend, type: 'typing-seen', chat, user: from });
      events.push({ t: t + 4, p, type: 'invoke', op: 'sync', mode: 'watermark', id: `s${n}`, watermarks: { [chat]: seq } });
      events.push({ t: t + 4, p, type: 'ok', op: 'sync', mode: 'watermark', id: `s${n}`, messages: 0, hasMore: false, chats: [{ chat, head: seq, hasMore: false, count: 0, first: 0, last: 0, inOrder: true }] });
    }
  }
  return { events, members, devices };
}

function getUnread(map: Map<string, Array<{ id: string; seq: number }>>, key: string): Array<{ id: string; seq: number }> {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

/** Checks a generated history of about `targetEvents` events; the time covers checkHistory only. */
export function timeCheckHistory(targetEvents: number): { events: number; seconds: number; eventsPerSecond: number; verdicts: string; unexpectedFailures: string[] } {
  const { events, members, devices } = generateHistory(targetEvents);
  const startMs = performance.now();
  const results = checkHistory(events, { chatMembers: members, devicesOfUser: devices }, { seed: 42, reproduce: 'bench' });
  const seconds = (performance.now() - startMs) / 1000;
  return {
    events: events.length, seconds, eventsPerSecond: events.length / seconds,
    verdicts: results.map((r) => `${r.id}=${r.verdict}`).join(' '),
    unexpectedFailures: results.filter((r) => r.verdict === 'fail').map((r) => `${r.id}: ${r.examples[0] ?? ''}`),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = timeCheckHistory(Number(process.argv[2] ?? 1_000_000));
  console.log(`${r.events} events checked in ${r.seconds.toFixed(2)} s: ${Math.round(r.eventsPerSecond)} events/s`);
  console.log(`verdicts: ${r.verdicts}`);
  if (r.unexpectedFailures.length > 0) console.log(`unexpected failures:\n${r.unexpectedFailures.join('\n')}`);
}
