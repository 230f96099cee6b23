// D2 under a chain of faults (swarm seed 4109752): x gone from 2.0 s; its offline push was lost
// behind a gateway partition (5.7-10.4 s), the query that repairs it waited behind a store outage
// (9.9-14.9 s) and was then dropped by total broker loss (12.3-21.1 s). The offline is owed
// within the propagation bound (5 s) of the last window's end, as D3 owes an online.
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../simulator/check/checkAll.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';

type E = HistoryEvent;
const fault = (start: number, end: number, kind: string): E[] => [
  { t: start, p: 'harness', type: 'oracle', what: 'fault-start', fault: kind },
  { t: end, p: 'harness', type: 'oracle', what: 'fault-end', fault: kind },
];

function d2(offlineSeenAtMs: number, brokerLoss: boolean): string {
  const unsorted: E[] = [
    { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
    { t: 0, p: 'o/d1', type: 'connect', gateway: 'gw1' },
    { t: 0, p: 'x/d1', type: 'connect', gateway: 'gw1' },
    { t: 100, p: 'o/d1', type: 'presence-seen', user: 'x', online: true, askedAt: 50 },
    { t: 2000, p: 'x/d1', type: 'disconnect', code: 1006, reason: 'offline' },
    ...fault(5700, 10_400, 'partition-gateway'),
    ...fault(9900, 14_900, 'store-outage'),
    ...(brokerLoss ? fault(12_300, 21_100, 'lose-broker-messages') : []),
    { t: offlineSeenAtMs, p: 'o/d1', type: 'presence-seen', user: 'x', online: false, askedAt: offlineSeenAtMs - 250 },
    { t: 29_000, p: 'x/d1', type: 'connect', gateway: 'gw1' },
    { t: 29_100, p: 'o/d1', type: 'presence-seen', user: 'x', online: true },
    { t: 49_000, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
  ];
  const events = unsorted.sort((a, b) => a.t - b.t);
  const results = checkHistory(events, {
    chatMembers: new Map(), devicesOfUser: new Map([['o', ['d1']], ['x', ['d1']]]),
    friendsOfUser: new Map([['o', ['x']], ['x', ['o']]]), presenceDebounceMs: 2000, presenceTtlMs: 6000,
  }, { seed: 1, reproduce: 'r' });
  return results.find((r) => r.id === 'D2')!.verdict;
}

describe('D2 behind a partition, a store outage and broker loss', () => {
  it('the offline heard 1.9 s after the broker loss ended is in time', () => {
    expect(d2(23_000, true)).toBe('pass');
  });
  it('heard 5.9 s after the broker loss ended, past the propagation bound, it is late', () => {
    expect(d2(27_000, true)).toBe('fail');
  });
  it('without the broker loss the same 23 s is late (the partition and the outage ended by 14.9 s)', () => {
    expect(d2(23_000, false)).toBe('fail');
  });
});
