// The link: reconnect backoff with full jitter, resend and resync after a reconnect,
// heartbeats and half-open detection, final close codes, stop().
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { CLOSE_CODES } from '../../server/protocol/errorCodes.ts';
import { backoffBoundMs } from '../../simulator/phone/Backoff.ts';
import { answerSync, CHAT, fixedRandom, makePhone, message, startReady, type PhoneRig } from './fixtures.ts';

/** Fails every connection attempt at once and returns the delays between a failure and the next attempt. */
function failRepeatedly(rig: PhoneRig, attempts: number): number[] {
  const delays: number[] = [];
  rig.phone.start();
  for (let i = 0; i < attempts; i++) {
    const conn = rig.transport.last();
    const failedAt = rig.time.nowMs();
    conn.fail(1006, 'refused');
    const count = rig.transport.connections.length;
    while (rig.transport.connections.length === count) rig.time.advance(1);
    delays.push(rig.transport.last().openedAtMs - failedAt);
  }
  return delays;
}

describe('phone reconnect backoff', () => {
  it('waits a full-jitter delay in [0, min(cap, base * 2^n)] whose bound grows per failure', () => {
    const options = { reconnectBaseMs: 500, reconnectCapMs: 30_000 };
    const delays = failRepeatedly(makePhone(options, new SeededRandom(42)), 10);
    delays.forEach((delay, n) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(Math.ceil(backoffBoundMs(n, 500, 30_000)));
    });
    // Pinning the jitter near the top shows the bound itself: 500, 1000, 2000, ... capped at 30 s.
    const top = failRepeatedly(makePhone(options, fixedRandom(0.99)), 9);
    expect(top).toEqual([495, 990, 1980, 3960, 7920, 15840, 29700, 29700, 29700]);
  });

  it('tries another gateway after a failure', () => {
    const rig = makePhone({}, new SeededRandom(3));
    failRepeatedly(rig, 3);
    const urls = rig.transport.connections.map((c) => c.url);
    for (let i = 1; i < urls.length; i++) expect(urls[i]).not.toBe(urls[i - 1]);
    expect(rig.transport.connections.every((c) => c.token === 'tok')).toBe(true);
  });

  it('after a lost link: reconnects, syncs from its watermarks and resends the pending outbox with the same ids at the hello', () => {
    const rig = makePhone({ reconnectBaseMs: 500 });
    const first = startReady(rig);
    first.push(message(1));
    const acked = rig.phone.send(CHAT, 'acked');
    const pending = rig.phone.send(CHAT, 'pending');
    first.push({ type: 'sent', ref: acked, chat: CHAT, seq: 2, msgId: 'm2', ts: 0 });
    const lostAt = rig.time.nowMs();
    first.fail(1006, 'radio lost');
    expect(rig.ofType('disconnect')).toMatchObject([{ code: 1006, reason: 'radio lost' }]);
    expect(rig.phone.state().connected).toBe(false);

    rig.phone.send(CHAT, 'while offline');
    rig.time.advance(500);
    const second = rig.transport.last();
    expect(second).not.toBe(first);
    second.accept();
    const sync = second.ofType('sync')[0]!;
    expect(sync.chats![CHAT]).toBe(2); // own seq 2 counts: the timeline holds 1 and 2
    // The outbox goes at the hello, in order, without waiting for the sync (seed 593768).
    const resent = second.ofType('send').map((f) => f.clientMsgId);
    expect(resent).toHaveLength(2);
    expect(resent[0]).toBe(pending);
    rig.time.advance(30);
    answerSync(second);
    expect(second.ofType('send')).toHaveLength(2);
    expect(rig.ofType('connect')).toHaveLength(2);
    expect(rig.metrics.count('reconnects')).toBe(1);
    expect(rig.metrics.values('reconnect')).toEqual([rig.time.nowMs() - lostAt]);
  });

  it('repeats receipts sent on a link that died (the server may not have applied them)', () => {
    const rig = makePhone();
    const first = startReady(rig);
    first.push(message(1));
    rig.time.advance(50);
    expect(first.ofType('ack')).toHaveLength(1);
    first.fail();
    rig.time.advance(1_000);
    const second = rig.transport.last();
    second.accept();
    answerSync(second);
    expect(second.ofType('ack')).toEqual([{ type: 'ack', chat: CHAT, upTo: 1 }]);
  });

  it('when the network is restored during a backoff, retries after the given delay instead of the rest of the backoff', () => {
    const rig = makePhone({ reconnectBaseMs: 500, reconnectCapMs: 30_000 }, fixedRandom(0.99));
    const conn = startReady(rig);
    conn.fail(1006, 'gone');
    expect(rig.phone.state().phase).toBe('backoff'); // a 495 ms wait ahead
    rig.phone.networkRestored(10);
    rig.time.advance(10);
    expect(rig.transport.connections).toHaveLength(2);
    // Not in a backoff (connected, or never started): nothing happens.
    rig.phone.networkRestored(0);
    rig.time.advance(1_000);
    expect(rig.transport.connections).toHaveLength(2);
  });

  // Seed 593632: an attempt begun while offline was under way when the heal restored the
  // network; it failed 0.2 s later and the phone waited out a backoff longer than the heal.
  it('when the network is restored during a connect attempt that then fails, retries after the given delay', () => {
    const rig = makePhone({ reconnectBaseMs: 500, reconnectCapMs: 30_000 }, fixedRandom(0.99));
    const conn = startReady(rig);
    conn.fail(1006, 'gone');
    // Several failed attempts: the backoff has grown to the cap.
    for (let i = 0; i < 8; i++) {
      while (rig.phone.state().phase !== 'connecting') rig.time.advance(100);
      rig.transport.last().fail(1006, 'offline');
    }
    expect(rig.phone.state().reconnectAttempt).toBeGreaterThanOrEqual(8);
    while (rig.phone.state().phase !== 'connecting') rig.time.advance(100);
    const attempts = rig.transport.connections.length;
    rig.phone.networkRestored(10);
    rig.transport.last().fail(1006, 'offline');
    rig.time.advance(10);
    expect(rig.transport.connections).toHaveLength(attempts + 1);
    // The next attempt connects; a later failure backs off afresh, with no delay left over.
    rig.transport.last().accept();
    answerSync(rig.transport.last());
    rig.transport.last().fail(1006, 'gone');
    rig.time.advance(10);
    expect(rig.transport.connections).toHaveLength(attempts + 1);
    rig.time.advance(500);
    expect(rig.transport.connections).toHaveLength(attempts + 2);
  });

  it('does not reconnect after a non-retryable close code', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    conn.fail(CLOSE_CODES.REPLACED.code, 'replaced');
    rig.time.advance(120_000);
    expect(rig.transport.connections).toHaveLength(1);
    expect(rig.phone.state().phase).toBe('closed');
    expect(rig.ofType('disconnect')).toMatchObject([{ code: 4409 }]);
  });

  it('aborts a connect attempt that never completes', () => {
    const rig = makePhone({ connectTimeoutMs: 10_000 });
    rig.phone.start();
    const conn = rig.transport.last();
    rig.time.advance(10_000);
    expect(conn.aborted).toBe(true);
    rig.time.advance(1_000);
    expect(rig.transport.connections).toHaveLength(2);
  });
});

describe('phone heartbeat', () => {
  it('pings every heartbeatIntervalMs and keeps a link that answers', () => {
    const rig = makePhone();
    rig.phone.start();
    const conn = rig.transport.last();
    conn.accept(1_000);
    answerSync(conn);
    for (let i = 0; i < 10; i++) {
      rig.time.advance(1_000);
      conn.push({ type: 'pong' });
    }
    expect(conn.ofType('ping')).toHaveLength(10);
    expect(conn.state).toBe('open');
  });

  it('aborts a silent (half-open) link and reconnects', () => {
    const rig = makePhone({ heartbeatTimeoutIntervals: 2 });
    rig.phone.start();
    const conn = rig.transport.last();
    conn.accept(1_000);
    answerSync(conn);
    rig.time.advance(1_999);
    expect(conn.state).toBe('open');
    rig.time.advance(1_001); // 2 intervals of silence are noticed at the next tick
    expect(conn.aborted).toBe(true);
    expect(rig.ofType('disconnect')).toMatchObject([{ code: 1006 }]);
    expect(rig.metrics.count('heartbeat.timeouts')).toBe(1);
    rig.time.advance(1_000);
    expect(rig.transport.connections).toHaveLength(2);
  });
});

describe('phone stop', () => {
  it('cancels every timer, closes the link and records nothing more', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    rig.phone.setForeground(true);
    rig.phone.openChat(CHAT);
    rig.phone.send(CHAT, 'x');
    conn.push(message(1));
    rig.phone.stop();
    const recorded = rig.events.length;
    expect(conn.state).toBe('closed');
    expect(rig.time.pendingCount()).toBe(0);
    rig.time.advance(600_000);
    expect(rig.events).toHaveLength(recorded);
    expect(rig.transport.connections).toHaveLength(1);
  });
});
