// Sends: outbox, retries with the same clientMsgId, ticks, failures.
import { describe, expect, it } from 'vitest';
import { answerSync, CHAT, fixedRandom, GROUP, makePhone, startReady } from './fixtures.ts';

describe('phone outbox', () => {
  it('retries an unacknowledged send with the same clientMsgId and stops after the sent ACK', () => {
    const rig = makePhone({ sendRetryBaseMs: 1_000 });
    const conn = startReady(rig);
    const id = rig.phone.send(CHAT, 'hello');
    expect(conn.ofType('send')).toEqual([{ type: 'send', chat: CHAT, clientMsgId: id, body: 'hello' }]);

    // The first attempt is lost: no `sent` comes back. A retry follows within the backoff bound.
    rig.time.advance(1_000);
    const sends = conn.ofType('send');
    expect(sends).toHaveLength(2);
    expect(sends[1]!.clientMsgId).toBe(id);

    conn.push({ type: 'sent', ref: id, chat: CHAT, seq: 1, msgId: 'm1', ts: 0 });
    rig.time.advance(60_000);
    expect(conn.ofType('send')).toHaveLength(2);
    expect(rig.ofType('ok').filter((e) => e.op === 'send')).toMatchObject([{ op: 'send', clientMsgId: id, seq: 1, msgId: 'm1' }]);
    expect(rig.ofType('tick').map((e) => e.tick)).toEqual(['sent']);
    expect(rig.metrics.values('sendToAck')).toEqual([1_000]);
  });

  it('retry delays grow exponentially', () => {
    const rig = makePhone({ sendRetryBaseMs: 1_000, sendRetryCapMs: 8_000 });
    const conn = startReady(rig);
    rig.phone.send(CHAT, 'x');
    const at: number[] = [];
    for (let i = 0; i < 60; i++) {
      const before = conn.ofType('send').length;
      rig.time.advance(500);
      if (conn.ofType('send').length > before) at.push(rig.time.nowMs() - rig.startMs);
    }
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // Equal jitter: attempt n waits in [bound/2, bound], bound = min(8000, 1000 * 2^n).
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    expect(gaps[0]!).toBeGreaterThanOrEqual(1_000);
    expect(gaps[0]!).toBeLessThanOrEqual(2_500);
    for (const gap of gaps.slice(2)) expect(gap).toBeGreaterThanOrEqual(4_000);
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(8_500);
  });

  it('a duplicate sent frame records nothing twice', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    const id = rig.phone.send(CHAT, 'hello');
    conn.push({ type: 'sent', ref: id, chat: CHAT, seq: 1, msgId: 'm1', ts: 0 });
    conn.push({ type: 'sent', ref: id, chat: CHAT, seq: 1, msgId: 'm1', ts: 0 });
    expect(rig.ofType('ok').filter((e) => e.op === 'send')).toHaveLength(1);
    expect(rig.ofType('tick')).toHaveLength(1);
  });

  it('cumulative receipts tick every own message up to upTo, read implies delivered, never backwards', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    const ids = [rig.phone.send(CHAT, 'a'), rig.phone.send(CHAT, 'b'), rig.phone.send(CHAT, 'c')];
    ids.forEach((id, i) => conn.push({ type: 'sent', ref: id, chat: CHAT, seq: i + 1, msgId: `m${i + 1}`, ts: 0 }));
    rig.time.advance(100);
    conn.push({ type: 'receipt', chat: CHAT, user: 'bob', kind: 'delivered', upTo: 2 });
    conn.push({ type: 'receipt', chat: CHAT, user: 'bob', kind: 'read', upTo: 3 });
    conn.push({ type: 'receipt', chat: CHAT, user: 'bob', kind: 'delivered', upTo: 3 }); // late, lower tick: ignored
    const ticks = rig.ofType('tick').filter((e) => e.tick !== 'sent').map((e) => `${e.seq}:${e.tick}`);
    expect(ticks).toEqual(['1:delivered', '2:delivered', '1:read', '2:read', '3:delivered', '3:read']);
    expect(rig.metrics.values('sendToRead')).toEqual([100, 100, 100]);
    expect(rig.phone.state().outbox).toBe(0);
  });

  it('a receipt that arrives before the sent ACK is applied when the ACK comes', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    const id = rig.phone.send(GROUP, 'a');
    conn.push({ type: 'receipt', chat: GROUP, user: '*', kind: 'delivered', upTo: 1 });
    conn.push({ type: 'sent', ref: id, chat: GROUP, seq: 1, msgId: 'm1', ts: 0 });
    expect(rig.ofType('tick').map((e) => e.tick)).toEqual(['sent', 'delivered']);
  });

  it('a non-retryable error fails the send; a retryable one leaves it to the retry', () => {
    const rig = makePhone({ sendRetryBaseMs: 1_000 });
    const conn = startReady(rig);
    const bad = rig.phone.send(CHAT, 'too big');
    const limited = rig.phone.send(CHAT, 'later');
    conn.push({ type: 'error', code: 'BODY_TOO_LARGE', message: 'x', ref: bad });
    conn.push({ type: 'error', code: 'RATE_LIMITED', message: 'x', ref: limited });
    expect(rig.ofType('fail')).toMatchObject([{ op: 'send', clientMsgId: bad, code: 'BODY_TOO_LARGE' }]);
    expect(rig.ofType('error-frame').map((e) => e.code)).toEqual(['BODY_TOO_LARGE', 'RATE_LIMITED']);
    expect(rig.metrics.count('errors.RATE_LIMITED')).toBe(1);
    rig.time.advance(1_000);
    const resent = conn.ofType('send').slice(2).map((f) => f.clientMsgId);
    expect(resent).toEqual([limited]);
  });

  it('sends made while offline wait in the outbox and go out at the hello, after the first sync page', () => {
    const rig = makePhone();
    rig.phone.start();
    const id = rig.phone.send(CHAT, 'offline');
    const conn = rig.transport.last();
    conn.accept();
    expect(conn.sent.map((f) => f.type)).toEqual(['sync', 'presence_query', 'send']); // presence is asked at the hello too
    answerSync(conn);
    expect(conn.ofType('send').map((f) => f.clientMsgId)).toEqual([id]);
  });

  it('client message ids are deterministic for a seed and unique', () => {
    const a = makePhone();
    const b = makePhone();
    const idsA = [a.phone.send(CHAT, 'x'), a.phone.send(CHAT, 'y')];
    const idsB = [b.phone.send(CHAT, 'x'), b.phone.send(CHAT, 'y')];
    expect(idsA).toEqual(idsB);
    expect(new Set(idsA).size).toBe(2);
  });
});

describe('phone outbox on reconnect', () => {
  // Seed 593768: 17 sends written offline waited for a 56-page sync (syncMessagesMax 5) and were
  // acknowledged 0.3 s before the end of the heal, too late to reach the other members (A5).
  it('sends what the outbox holds at the hello, while the sync is still paging', () => {
    const rig = makePhone();
    rig.phone.start();
    const id = rig.phone.send(CHAT, 'written offline');
    const conn = rig.transport.last();
    expect(conn.ofType('send')).toEqual([]);
    conn.accept();
    expect(rig.phone.state().phase).toBe('syncing');
    expect(conn.ofType('send')).toEqual([{ type: 'send', chat: CHAT, clientMsgId: id, body: 'written offline' }]);
    // A send pressed during the sync goes at once too.
    const during = rig.phone.send(GROUP, 'during the sync');
    expect(conn.ofType('send').map((f) => f.clientMsgId)).toEqual([id, during]);
    // The sync ends: nothing is sent again on top (the retry timers handle lost attempts).
    answerSync(conn);
    expect(rig.phone.state().phase).toBe('ready');
    expect(conn.ofType('send')).toHaveLength(2);
  });
});

describe('phone outbox after a retryable refusal (swarm seed 4023076)', () => {
  // A send refused UNAVAILABLE through a store outage and a gateway partition had a backoff of up
  // to 30 s (it grows over the entry's life, across sessions); a sync was answered 0.9 s after the
  // partition healed, yet the send waited past the end of the heal (F1).
  it('sends a refused send again when a sync round is answered, not after its backoff; one in flight is left to its timer', () => {
    const rig = makePhone({ sendRetryBaseMs: 1_000, sendRetryCapMs: 30_000 }, fixedRandom(0.99));
    const conn = startReady(rig);
    const refused = rig.phone.send(CHAT, 'refused');
    const inFlight = rig.phone.send(GROUP, 'in flight');
    conn.push({ type: 'error', code: 'UNAVAILABLE', message: 'unavailable', ref: refused });
    // The gateway is back and says so; the sync round it asks for is answered.
    conn.push({ type: 'resync', reason: 'broker-link-restored' });
    answerSync(conn);
    expect(conn.ofType('send').map((f) => f.clientMsgId)).toEqual([refused, inFlight, refused]);
    conn.push({ type: 'sent', ref: refused, chat: CHAT, seq: 1, msgId: 'm1', ts: 0 });
    expect(rig.ofType('ok').filter((e) => e.op === 'send').map((e) => e.clientMsgId)).toEqual([refused]);
    // Another round resends nothing: the refused send is stored, the other one is not refused.
    conn.push({ type: 'resync', reason: 'broker-link-restored' });
    answerSync(conn);
    expect(conn.ofType('send')).toHaveLength(3);
  });

  it('a send refused while the sync after a hello is refused too goes again when the retried sync is answered', () => {
    const rig = makePhone({ sendRetryBaseMs: 1_000, sendRetryCapMs: 30_000, reconnectBaseMs: 500 }, fixedRandom(0.99));
    const first = startReady(rig);
    const id = rig.phone.send(CHAT, 'lost, then refused');
    rig.time.advance(995 + 1_990 + 3_980); // three retries into a dead link: the backoff grows
    expect(first.ofType('send')).toHaveLength(4);
    first.fail(1006, 'half-open link given up');
    rig.time.advance(500);
    const conn = rig.transport.last();
    conn.accept();
    expect(conn.ofType('send').map((f) => f.clientMsgId)).toEqual([id]); // the outbox at the hello
    // A gateway cut off from its backends refuses the sync and the send.
    conn.push({ type: 'error', code: 'UNAVAILABLE', message: 'unavailable', ref: conn.ofType('sync').at(-1)!.id });
    conn.push({ type: 'error', code: 'UNAVAILABLE', message: 'unavailable', ref: id });
    rig.time.advance(1_000); // the sync retries after its first step (995 ms); the send waits about 16 s (attempt 5)
    expect(conn.ofType('sync')).toHaveLength(2);
    expect(conn.ofType('send')).toHaveLength(1);
    answerSync(conn);
    expect(rig.phone.state().phase).toBe('ready');
    expect(conn.ofType('send').map((f) => f.clientMsgId)).toEqual([id, id]);
  });
});
