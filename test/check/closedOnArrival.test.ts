// D6 and a connection closed on arrival (swarm seed 4108168): x dropped at 1.8 s, dialled at
// 8.1 s inside a stall of its network; the server accepted the attempt (friends told online),
// heard nothing from the stalled phone and closed it at its heartbeat timeout, and friends were
// told offline again after the debounce. The phone heard the open and the server's close
// together when the stall ended (14.234 s). To the server that was two absences, so two offline
// changes are owed; a connection the phone kept (the close heard later) leaves one.
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../simulator/check/checkAll.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';

type E = HistoryEvent;

function d6(closeHeardAtMs: number): string {
  const events: E[] = [
    { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
    { t: 0, p: 'o/d1', type: 'connect', gateway: 'gw1' },
    { t: 0, p: 'x/d1', type: 'connect', gateway: 'gw1' },
    { t: 10, p: 'o/d1', type: 'presence-seen', user: 'x', online: true, askedAt: 5 },
    { t: 1800, p: 'x/d1', type: 'disconnect', code: 1006, reason: 'offline' },
    { t: 7770, p: 'o/d1', type: 'presence-seen', user: 'x', online: false },
    { t: 7835, p: 'harness', type: 'oracle', what: 'stall-start', device: 'x/d1' },
    { t: 8100, p: 'harness', type: 'oracle', what: 'link-dial', device: 'x/d1' },
    { t: 8124, p: 'o/d1', type: 'presence-seen', user: 'x', online: true },
    { t: 13_775, p: 'o/d1', type: 'presence-seen', user: 'x', online: false },
    { t: 14_234, p: 'harness', type: 'oracle', what: 'stall-end', device: 'x/d1' },
    { t: 14_234, p: 'x/d1', type: 'connect', gateway: 'gw1' },
    { t: closeHeardAtMs, p: 'x/d1', type: 'disconnect', code: 4408, reason: 'heartbeat timeout' },
    // x dials again at once and is back 200 ms later (too short an absence to owe an offline).
    { t: closeHeardAtMs + 100, p: 'harness', type: 'oracle', what: 'link-dial', device: 'x/d1' },
    { t: closeHeardAtMs + 200, p: 'x/d1', type: 'connect', gateway: 'gw1' },
    { t: closeHeardAtMs + 300, p: 'o/d1', type: 'presence-seen', user: 'x', online: true },
    { t: 30_000, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
  ];
  const results = checkHistory(events, {
    chatMembers: new Map(), devicesOfUser: new Map([['o', ['d1']], ['x', ['d1']]]),
    friendsOfUser: new Map([['o', ['x']], ['x', ['o']]]), presenceDebounceMs: 2000, presenceTtlMs: 9000,
  }, { seed: 1, reproduce: 'r' });
  return results.find((r) => r.id === 'D6')!.verdict;
}

describe('D6 with a connection closed on arrival', () => {
  it('its open and the server\'s close heard at one instant: the server saw a return and a departure, two offlines are owed', () => {
    expect(d6(14_234)).toBe('pass');
  });
  it('the same connection kept for 1.5 s on the phone: the second offline is a flap', () => {
    expect(d6(15_734)).toBe('fail');
  });
});
