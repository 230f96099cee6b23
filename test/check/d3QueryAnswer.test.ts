// D3 and an online shown by the answer to a query asked before the return (swarm seed 4406669):
// o's link reset just after x came back (the online push lost with it); o's hello query on its
// new link waited behind a slow store and a paused chat server; x's short drop after that (too
// short for the server to announce) made a return owed from 3.993 s. The answer to the query is
// the repair, and it waits out the lane holds: in time if heard within the propagation bound of
// their end. A push (no askedAt) or an answer with no lane held is still judged from the return.
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../simulator/check/checkAll.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';

type E = HistoryEvent;

function d3(options: { askedAtMs?: number; laneHeld: boolean }): string {
  const unsorted: E[] = [
    { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
    { t: 0, p: 'o/d1', type: 'connect', gateway: 'gw1' },
    { t: 100, p: 'o/d1', type: 'presence-seen', user: 'x', online: false, askedAt: 50 },
    { t: 2035, p: 'x/d1', type: 'connect', gateway: 'gw2' },
    { t: 2046, p: 'o/d1', type: 'disconnect', code: 1006, reason: 'connection reset' },
    { t: 2287, p: 'o/d1', type: 'connect', gateway: 'gw3' },
    { t: 3594, p: 'x/d1', type: 'disconnect', code: 1006, reason: 'offline' },
    { t: 3993, p: 'x/d1', type: 'connect', gateway: 'gw2' },
    ...(options.laneHeld ? [
      { t: 2300, p: 'harness', type: 'oracle', what: 'fault-start', fault: 'slow-store' } as E,
      { t: 8300, p: 'harness', type: 'oracle', what: 'fault-end', fault: 'slow-store' } as E,
      { t: 4500, p: 'harness', type: 'oracle', what: 'fault-start', fault: 'pause-chat-server' } as E,
      { t: 11_800, p: 'harness', type: 'oracle', what: 'fault-end', fault: 'pause-chat-server' } as E,
    ] : []),
    { t: 11_821, p: 'o/d1', type: 'presence-seen', user: 'x', online: true, ...(options.askedAtMs !== undefined ? { askedAt: options.askedAtMs } : {}) },
    { t: 40_000, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
  ];
  const events = unsorted.sort((a, b) => a.t - b.t);
  const results = checkHistory(events, {
    chatMembers: new Map(), devicesOfUser: new Map([['o', ['d1']], ['x', ['d1']]]),
    friendsOfUser: new Map([['o', ['x']], ['x', ['o']]]), presenceDebounceMs: 2000, presenceTtlMs: 15_000,
  }, { seed: 1, reproduce: 'r' });
  return results.find((r) => r.id === 'D3')!.verdict;
}

describe('D3 when the answer to a query asked before the return shows the online', () => {
  it('the answer held by a slow store and a paused chat server, heard as the pause ends, is in time', () => {
    expect(d3({ askedAtMs: 2287, laneHeld: true })).toBe('pass');
  });
  it('a push heard at the same moment is late (pushes do not wait in chat server lanes)', () => {
    expect(d3({ laneHeld: true })).toBe('fail');
  });
  it('the same answer with no lane held is late', () => {
    expect(d3({ askedAtMs: 2287, laneHeld: false })).toBe('fail');
  });
});
