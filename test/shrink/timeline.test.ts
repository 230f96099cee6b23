import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { CITED_MARK, formatTimeline, TIMELINE_LINES_FULL_MAX } from '../../simulator/shrink/timeline.ts';

const CHAT = 'd:u0:u1';
const EXPLANATION = `device u0/d1 completed sync d1-s3 at 19.274 s with ${CHAT} head 16, but holds ${CHAT} only up to seq 10: seq 11 (m11 from u1, first seen on u1/d1 at 14.227 s) is missing`;

/** Two phones chatting: u1 sends seq 1..n, u0 renders each; u2 (not named) chats elsewhere. */
function history(messages: number): HistoryEvent[] {
  const events: HistoryEvent[] = [{ t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' }];
  for (let seq = 1; seq <= messages; seq++) {
    const t = seq * 1000;
    events.push({ t, p: 'u1/d1', type: 'invoke', op: 'send', chat: CHAT, clientMsgId: `m${seq}`, body: `random body ${seq} qwxz` });
    events.push({ t: t + 10, p: 'u1/d1', type: 'ok', op: 'send', chat: CHAT, clientMsgId: `m${seq}`, seq, msgId: `id${seq}` });
    if (seq !== 11) events.push({ t: t + 20, p: 'u0/d1', type: 'render', chat: CHAT, seq, from: 'u1', clientMsgId: `m${seq}`, via: 'push', storedAt: t + 5.123456 });
    events.push({ t: t + 30, p: 'u2/d1', type: 'render', chat: 'g:9', seq, from: 'u3', clientMsgId: `x${seq}`, via: 'push' });
  }
  events.push({ t: 19_274, p: 'harness', type: 'oracle', what: 'phase', phase: 'heal' });
  return events;
}

describe('shrink timeline', () => {
  it('marks the lines the explanation cites and leaves bodies and unnamed devices out', () => {
    const text = formatTimeline(history(12), EXPLANATION);
    const marked = text.split('\n').filter((l) => l.startsWith(CITED_MARK));
    expect(marked.some((l) => l.includes('u1/d1') && l.includes('ok op=send') && l.includes('seq=11'))).toBe(true);
    expect(marked.some((l) => l.includes('render') && l.includes('seq=10'))).toBe(true);
    expect(marked.some((l) => l.includes('seq=3 '))).toBe(false);
    expect(text).not.toContain('random body');
    expect(text).not.toContain('u2/d1');
    expect(text).toContain('storedAt=1005.1');
  });

  it('shows the network stalls of the devices the explanation names, as it shows their link changes', () => {
    const stall = (t: number, what: 'stall-start' | 'stall-end', device: string): HistoryEvent => ({ t, p: 'harness', type: 'oracle', what, device });
    const events = [...history(12), stall(4_500, 'stall-start', 'u0/d1'), stall(6_200, 'stall-end', 'u0/d1'), stall(5_000, 'stall-start', 'u2/d1')].sort((x, y) => x.t - y.t);
    const lines = formatTimeline(events, EXPLANATION).split('\n');
    expect(lines.some((l) => l.includes('4.500 s') && l.includes('oracle what=stall-start device=u0/d1'))).toBe(true);
    expect(lines.some((l) => l.includes('6.200 s') && l.includes('oracle what=stall-end device=u0/d1'))).toBe(true);
    expect(lines.some((l) => l.includes('u2/d1'))).toBe(false);
  });

  it('keeps a short case whole, and cuts a long one down to the cited lines, their neighbours and the phases', () => {
    const short = formatTimeline(history(12), EXPLANATION).split('\n');
    expect(short.some((l) => l.includes('left out'))).toBe(false);
    const long = formatTimeline(history(40), EXPLANATION).split('\n');
    expect(long.length).toBeLessThan(TIMELINE_LINES_FULL_MAX);
    expect(long.some((l) => l.includes('left out'))).toBe(true);
    expect(long.some((l) => l.includes('phase=load'))).toBe(true);
    expect(long.some((l) => l.includes('phase=heal'))).toBe(true);
    expect(long.some((l) => l.includes('seq=11'))).toBe(true);
    expect(long.some((l) => l.includes('seq=30'))).toBe(false);
  });
});

describe('shrink timeline of a presence failure', () => {
  it('marks the events at the times the explanation cites, and never cuts a long timeline down to its phases alone', () => {
    const events: HistoryEvent[] = [{ t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' }];
    for (let i = 1; i <= 80; i++) events.push({ t: i * 100, p: 'u0/d1', type: 'presence-seen', user: 'u1', online: i % 2 === 0 });
    events.push({ t: 14_680, p: 'u0/d1', type: 'presence-seen', user: 'u1', online: false });
    const text = formatTimeline(events, "u1's devices were all disconnected from 14.435 s to 14.900 s, yet device u0/d1 was shown u1 offline at 14.680 s, 245 ms in");
    const marked = text.split('\n').filter((l) => l.startsWith(CITED_MARK));
    expect(marked).toHaveLength(1);
    expect(marked[0]).toContain('14.680 s');
    expect(text).toContain('u0/d1');
    const uncited = formatTimeline(events, 'device u0/d1 saw something wrong');
    expect(uncited).toContain('u0/d1');
  });
});
