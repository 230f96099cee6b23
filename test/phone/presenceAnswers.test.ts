// What the phone does with presence answers the broker delivered twice or it no longer remembers.
import { describe, expect, it } from 'vitest';
import { makePhone, startReady } from './fixtures.ts';

describe('PresenceTracker answers', () => {
  // Swarm seed 4507012 (duplicate-broker-messages): u8/d1 asked at its hello, heard u9 online
  // by push, then the answer (asked before u9 came online) twice; the first was rightly kept
  // under the push, the duplicate was taken for news and u9 shown offline.
  it('drops a second copy of an answer, so it cannot overwrite a newer push', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    const query = conn.ofType('presence_query')[0]!;
    rig.time.advance(20);
    conn.push({ type: 'presence', user: 'bob', online: true });
    rig.time.advance(20);
    const answer = { type: 'presence_result' as const, ref: query.id, users: [{ user: 'bob', online: false }] };
    conn.push(answer);
    conn.push(answer);
    expect(rig.ofType('presence-seen').map((e) => e.online)).toEqual([true]);
    expect(rig.metrics.count('presence.unknownAnswers')).toBe(1);
  });

  it('shows an answer once, with its askedAt, and drops one to a query it never asked', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    const query = conn.ofType('presence_query')[0]!;
    conn.push({ type: 'presence_result', ref: 'd1-q999', users: [{ user: 'bob', online: true }] });
    expect(rig.ofType('presence-seen')).toHaveLength(0);
    rig.time.advance(30);
    conn.push({ type: 'presence_result', ref: query.id, users: [{ user: 'bob', online: false }] });
    expect(rig.ofType('presence-seen')).toMatchObject([{ user: 'bob', online: false, askedAt: 0 }]);
    expect(rig.metrics.count('presence.unknownAnswers')).toBe(1);
  });
});

describe('presence after a resync', () => {
  // Swarm seed 5000822: the server told u11/d1 to resync and to ask presence again (its route
  // was lost with a presence store restart); the presence notice was lost in a broker-loss
  // window and so was the sync's answer, and the query that ends the sync round came 15 s late.
  it('asks presence at once on a resync of messages, not only when the sync round ends', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    expect(conn.ofType('presence_query')).toHaveLength(1);
    conn.push({ type: 'resync', reason: 'broker-link-restored' });
    expect(conn.ofType('sync')).toHaveLength(2);
    expect(conn.ofType('presence_query')).toHaveLength(2);
    expect(rig.metrics.count('resyncs')).toBe(1);
  });
});
