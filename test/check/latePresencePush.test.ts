// D1 and a late presence push: an offline broadcast for a long absence, held by the observer's
// stalled link, may arrive just after the user came back and dropped again (sim seed 152 of the
// widened swarm, with a tunnel). It is the long absence's offline, not a flap; an offline heard
// as early into a drop that followed only a short absence is still a flap.
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../simulator/check/checkAll.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { latePushEpisode } from '../../simulator/check/presenceVerdicts.ts';

type E = HistoryEvent;
const link = (t: number, p: string, up: boolean): E => (up ? { t, p, type: 'connect', gateway: 'gw1' } : { t, p, type: 'disconnect', code: 1006, reason: 'gone' });

function d1(previousDownMs: number): string {
  const downAt = 4000 - previousDownMs;
  const events: E[] = [
    { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
    link(0, 'o/d1', true), link(0, 'x/d1', true),
    { t: 10, p: 'o/d1', type: 'presence-seen', user: 'x', online: true, askedAt: 5 },
    link(downAt, 'x/d1', false), link(4000, 'x/d1', true), link(4100, 'x/d1', false),
    // The offline broadcast at the end of the debounce (or at once, for a flap) arrives late, with the online behind it.
    { t: 4600, p: 'o/d1', type: 'presence-seen', user: 'x', online: false },
    { t: 4600, p: 'o/d1', type: 'presence-seen', user: 'x', online: true },
    link(4700, 'x/d1', true),
    { t: 9000, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
  ];
  const results = checkHistory(events, {
    chatMembers: new Map(), devicesOfUser: new Map([['o', ['d1']], ['x', ['d1']]]),
    friendsOfUser: new Map([['o', ['x']], ['x', ['o']]]), presenceDebounceMs: 2000, presenceTtlMs: 12_000,
  }, { seed: 1, reproduce: 'r' });
  return results.find((r) => r.id === 'D1')!.verdict;
}

/**
 * x away for `previousDownMs` until 4000, then a short drop (4200 to 4500); the observer hears
 * an offline and the online behind it at 4600, with x connected again (sim seed 1001833).
 */
function d1AfterTwoReturns(previousDownMs: number): string {
  const events: E[] = [
    { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
    link(0, 'o/d1', true), link(0, 'x/d1', true),
    { t: 10, p: 'o/d1', type: 'presence-seen', user: 'x', online: true, askedAt: 5 },
    link(4000 - previousDownMs, 'x/d1', false), link(4000, 'x/d1', true),
    link(4200, 'x/d1', false), link(4500, 'x/d1', true),
    { t: 4600, p: 'o/d1', type: 'presence-seen', user: 'x', online: false },
    { t: 4600, p: 'o/d1', type: 'presence-seen', user: 'x', online: true },
    { t: 9000, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
  ];
  const results = checkHistory(events, {
    chatMembers: new Map(), devicesOfUser: new Map([['o', ['d1']], ['x', ['d1']]]),
    friendsOfUser: new Map([['o', ['x']], ['x', ['o']]]), presenceDebounceMs: 2000, presenceTtlMs: 12_000,
  }, { seed: 1, reproduce: 'r' });
  return results.find((r) => r.id === 'D1')!.verdict;
}

/**
 * x's first dial at 500 is accepted by the server (o hears online) but never completes; x dials
 * again and connects at 6600. o hears an offline, and the online behind it, at `heardAtMs`
 * (swarm seed 4104180: the attempt's heartbeat timeout and debounce ended just before x's
 * first real connection, and the offline travelled with the online).
 */
function d5AfterAcceptedAttempt(heardAtMs: number, firstDial: boolean): string {
  const events: E[] = [
    { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
    link(0, 'o/d1', true),
    ...(firstDial ? [{ t: 500, p: 'harness', type: 'oracle', what: 'link-dial', device: 'x/d1' } as E] : []),
    { t: 1200, p: 'o/d1', type: 'presence-seen', user: 'x', online: true },
    { t: 6500, p: 'harness', type: 'oracle', what: 'link-dial', device: 'x/d1' },
    link(6600, 'x/d1', true),
    { t: heardAtMs, p: 'o/d1', type: 'presence-seen', user: 'x', online: false },
    { t: heardAtMs, p: 'o/d1', type: 'presence-seen', user: 'x', online: true },
    { t: 15_000, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
  ];
  const results = checkHistory(events, {
    chatMembers: new Map(), devicesOfUser: new Map([['o', ['d1']], ['x', ['d1']]]),
    friendsOfUser: new Map([['o', ['x']], ['x', ['o']]]), presenceDebounceMs: 2000, presenceTtlMs: 12_000,
  }, { seed: 1, reproduce: 'r' });
  return results.find((r) => r.id === 'D5')!.verdict;
}

describe('D5 with the late offline of an attempt the phone never completed', () => {
  it('an offline heard 100 ms after the first real connection, when an earlier dial may have been accepted, is that attempt\'s, late', () => {
    expect(d5AfterAcceptedAttempt(6700, true)).toBe('pass');
  });
  it('the same offline heard 6.4 s into the connection is wrong (past the 5 s propagation bound)', () => {
    expect(d5AfterAcceptedAttempt(13_000, true)).toBe('fail');
  });
  it('without an earlier attempt (only the dial that connected) nothing could have broadcast it: wrong even 100 ms in', () => {
    expect(d5AfterAcceptedAttempt(6700, false)).toBe('fail');
  });
});

describe('D1 with a late offline push', () => {
  it('an offline heard 500 ms into a short drop that follows a 3 s absence (debounce 2 s) is the absence\'s, late', () => {
    expect(d1(3000)).toBe('pass');
  });
  it('the same after a 0.5 s absence is a flap', () => {
    expect(d1(500)).toBe('fail');
  });
  it('an offline heard just after a short drop ended, when a 3 s absence ended before that drop, is the absence\'s, late', () => {
    expect(d1AfterTwoReturns(3000)).toBe('pass');
  });
  it('the same after a 0.5 s absence is a flap', () => {
    expect(d1AfterTwoReturns(500)).toBe('fail');
  });
});

describe('latePushEpisode', () => {
  it('prefers the latest long episode: the first absence (long by definition) does not hide a later one (swarm seed 4602415)', () => {
    const first = { user: 'x', startMs: -Infinity, endMs: 539, dials: [['x/d1', 415], ['x/d2', 445]] as Array<[string, number]>, endedBy: 'x/d1' };
    const later = { user: 'x', startMs: 4201, endMs: 13_109, dials: [['x/d1', 13_025]] as Array<[string, number]>, endedBy: 'x/d1' };
    const short = { user: 'x', startMs: 13_500, endMs: 13_600, endedBy: 'x/d1' };
    expect(latePushEpisode([first, later, short], 0, 1750)).toBe(later);
    expect(latePushEpisode([first, short], 0, 1750)).toBe(first);
    expect(latePushEpisode([short], 0, 1750)).toBe(short);
  });
});
