// Receiving: cumulative delivery acks, debounced reads, piggybacked reads, gaps and sync.
import { describe, expect, it } from 'vitest';
import { answerSync, CHAT, GROUP, makePhone, message, startReady } from './fixtures.ts';

describe('phone receipts out', () => {
  it('acks a burst of 5 messages with exactly one cumulative ack, after rendering', () => {
    const rig = makePhone({ ackDelayMs: 50 });
    const conn = startReady(rig);
    for (let seq = 1; seq <= 5; seq++) conn.push(message(seq));
    expect(rig.ofType('render').map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(conn.ofType('ack')).toHaveLength(0); // coalescing window still open
    rig.time.advance(50);
    expect(conn.ofType('ack')).toEqual([{ type: 'ack', chat: CHAT, upTo: 5 }]);
    rig.time.advance(5_000);
    expect(conn.ofType('ack')).toHaveLength(1);
    expect(conn.ofType('read')).toHaveLength(0); // background: delivered only
    expect(rig.ofType('receipt-out')).toMatchObject([{ chat: CHAT, kind: 'delivered', upTo: 5, piggyback: false }]);
  });

  it('repeats a receipt whose link reported its close from inside the send, after the reconnect', () => {
    const rig = makePhone({ ackDelayMs: 50, readDebounceMs: 500 });
    const conn = startReady(rig);
    rig.phone.setForeground(true);
    rig.phone.openChat(GROUP);
    conn.push(message(1));
    conn.push(message(1, 'carol', GROUP));
    conn.failOnNextSend();
    rig.time.advance(50); // the ack of CHAT goes out on a link that dies while sending it
    expect(conn.state).toBe('closed');
    // The first reconnect attempt succeeds (a failed attempt would hide the bug: its close
    // also moves the link's receipts to the list repeated after a reconnect).
    rig.time.advance(1_000); // past the first backoff (at most reconnectBaseMs)
    const next = rig.transport.last();
    expect(next).not.toBe(conn);
    expect(rig.transport.connections).toHaveLength(2);
    next.accept();
    answerSync(next);
    rig.time.advance(1_000);
    expect(next.ofType('ack')).toEqual(expect.arrayContaining([{ type: 'ack', chat: CHAT, upTo: 1 }]));
    // The same for a read: it dies in the send, and is repeated on the link after.
    next.push(message(2, 'carol', GROUP));
    next.failOnNextSend();
    rig.time.advance(500);
    expect(next.state).toBe('closed');
    rig.time.advance(1_000);
    const third = rig.transport.last();
    expect(rig.transport.connections).toHaveLength(3);
    third.accept();
    answerSync(third);
    rig.time.advance(1_000);
    expect(third.ofType('read')).toEqual(expect.arrayContaining([{ type: 'read', chat: GROUP, upTo: 2 }]));
  });

  it('sends an overdue read when its chat leaves the screen before the busy event loop ran the timer', () => {
    for (const leave of ['background', 'other chat'] as const) {
      const rig = makePhone({ readDebounceMs: 500 });
      const conn = startReady(rig);
      rig.phone.setForeground(true);
      rig.phone.openChat(CHAT);
      conn.push(message(1));
      // 900 ms pass with the timer not run (a generator's event loop busy elsewhere)...
      rig.time.jumpTo(rig.time.nowMs() + 900);
      if (leave === 'background') rig.phone.setForeground(false);
      else rig.phone.openChat(GROUP);
      // ...so the read goes out as the chat leaves the screen, saying how late it is.
      expect(conn.ofType('read')).toEqual([{ type: 'read', chat: CHAT, upTo: 1 }]);
      expect(rig.ofType('receipt-out').filter((e) => e.kind === 'read')).toMatchObject([{ chat: CHAT, upTo: 1, timerLateMs: 400 }]);
      rig.time.advance(5_000);
      expect(conn.ofType('read')).toHaveLength(1);
    }
    // Not yet due: leaving the screen cancels the read, as before.
    const rig = makePhone({ readDebounceMs: 500 });
    const conn = startReady(rig);
    rig.phone.setForeground(true);
    rig.phone.openChat(CHAT);
    conn.push(message(1));
    rig.time.advance(499);
    rig.phone.setForeground(false);
    rig.time.advance(5_000);
    expect(conn.ofType('read')).toHaveLength(0);
  });

  it('a read piggybacked on typing while the read timer is overdue says how late it is', () => {
    const rig = makePhone({ readDebounceMs: 500 });
    const conn = startReady(rig);
    rig.phone.setForeground(true);
    rig.phone.openChat(CHAT);
    conn.push(message(1));
    rig.time.jumpTo(rig.time.nowMs() + 800); // the timer, due at 500 ms, has not run
    expect(rig.phone.typing(CHAT)).toBe(true);
    expect(conn.ofType('typing')).toEqual([{ type: 'typing', chat: CHAT, read: 1 }]);
    expect(rig.ofType('receipt-out')).toMatchObject([{ kind: 'read', upTo: 1, piggyback: true, timerLateMs: 300 }]);
  });

  it('says how late its ack timer ran (a busy generator), so B6 can allow for it', () => {
    const rig = makePhone({ ackDelayMs: 50 });
    const conn = startReady(rig);
    conn.push(message(1));
    rig.time.jumpTo(rig.time.nowMs() + 350); // the event loop was busy: the timer did not run at 50 ms
    rig.time.fireNextInstant(rig.time.nowMs()); // runs it now, 300 ms after it was due
    expect(conn.ofType('ack')).toEqual([{ type: 'ack', chat: CHAT, upTo: 1 }]);
    expect(rig.ofType('receipt-out')).toMatchObject([{ kind: 'delivered', upTo: 1, timerLateMs: 300 }]);
    conn.push(message(2));
    rig.time.advance(50);
    expect(rig.ofType('receipt-out')[1]).not.toHaveProperty('timerLateMs');
  });

  it('reads a visible chat once per debounce window, with only the last seq', () => {
    const rig = makePhone({ readDebounceMs: 500 });
    const conn = startReady(rig);
    rig.phone.setForeground(true);
    rig.phone.openChat(CHAT);
    conn.push(message(1));
    rig.time.advance(100);
    conn.push(message(2));
    rig.time.advance(100);
    conn.push(message(3));
    conn.push(message(1, 'carol', GROUP)); // another chat: not visible, never read
    rig.time.advance(299);
    expect(conn.ofType('read')).toHaveLength(0);
    rig.time.advance(1);
    expect(conn.ofType('read')).toEqual([{ type: 'read', chat: CHAT, upTo: 3 }]);
    rig.time.advance(10_000);
    expect(conn.ofType('read')).toHaveLength(1);
    expect(rig.metrics.count('receipts.savedByDebounce')).toBe(2);
    expect(rig.ofType('receipt-out').filter((e) => e.kind === 'read')).toMatchObject([{ chat: CHAT, upTo: 3, piggyback: false }]);
  });

  it('piggybacks the pending read on a typing frame instead of a separate read', () => {
    const rig = makePhone({ readDebounceMs: 500 });
    const conn = startReady(rig);
    rig.phone.setForeground(true);
    rig.phone.openChat(CHAT);
    conn.push(message(1));
    conn.push(message(2));
    rig.time.advance(200);
    expect(rig.phone.typing(CHAT)).toBe(true);
    expect(conn.ofType('typing')).toEqual([{ type: 'typing', chat: CHAT, read: 2 }]);
    rig.time.advance(5_000);
    expect(conn.ofType('read')).toHaveLength(0);
    expect(rig.metrics.count('receipts.piggybacked')).toBe(1);
    expect(rig.ofType('receipt-out').filter((e) => e.kind === 'read')).toMatchObject([{ chat: CHAT, upTo: 2, piggyback: true }]);
    // Typing again with nothing to read is a plain (throttled) typing frame.
    rig.time.advance(3_000);
    rig.phone.typing(CHAT);
    expect(conn.ofType('typing').at(-1)).toEqual({ type: 'typing', chat: CHAT });
  });

  it('does not read in the background, and reads what is visible when the app comes back', () => {
    const rig = makePhone({ readDebounceMs: 500 });
    const conn = startReady(rig);
    rig.phone.openChat(CHAT);
    conn.push(message(1));
    rig.time.advance(2_000);
    expect(conn.ofType('read')).toHaveLength(0);
    expect(conn.ofType('ack')).toEqual([{ type: 'ack', chat: CHAT, upTo: 1 }]);
    rig.phone.setForeground(true);
    rig.time.advance(500);
    expect(conn.ofType('read')).toEqual([{ type: 'read', chat: CHAT, upTo: 1 }]);
  });
});

describe('phone receipts for own messages', () => {
  it('sends no ack or read for its own messages, but covers them in later cumulative receipts', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    rig.phone.setForeground(true);
    rig.phone.openChat(CHAT);
    const id = rig.phone.send(CHAT, 'mine');
    conn.push({ type: 'sent', ref: id, chat: CHAT, seq: 1, msgId: 'm1', ts: 0 });
    rig.time.advance(5_000);
    expect(conn.ofType('ack')).toHaveLength(0);
    expect(conn.ofType('read')).toHaveLength(0);
    conn.push(message(2));
    rig.time.advance(500);
    expect(conn.ofType('ack')).toEqual([{ type: 'ack', chat: CHAT, upTo: 2 }]);
    expect(conn.ofType('read')).toEqual([{ type: 'read', chat: CHAT, upTo: 2 }]);
  });
});

describe('phone ordering and sync', () => {
  it('buffers past a gap, syncs, renders 1,2,3 in order and never renders a duplicate', () => {
    const rig = makePhone({ gapSyncDelayMs: 100 });
    const conn = startReady(rig);
    conn.push(message(1));
    conn.push(message(3));
    expect(rig.ofType('gap')).toMatchObject([{ chat: CHAT, expected: 2, got: 3 }]);
    expect(rig.ofType('render').map((e) => e.seq)).toEqual([1]);
    const syncsBefore = conn.ofType('sync').length;
    rig.time.advance(100);
    const sync = conn.ofType('sync').at(-1)!;
    expect(conn.ofType('sync')).toHaveLength(syncsBefore + 1);
    expect(sync.chats).toMatchObject({ [CHAT]: 1, [GROUP]: 0 });
    expect(sync.epoch).toBe('mem-1');
    conn.push({
      type: 'sync_result', ref: sync.id, epoch: 'mem-1', hasMore: false,
      chats: [{ chat: CHAT, messages: [message(2), message(3)], head: 3, hasMore: false, receipts: [] }],
    });
    conn.push(message(3)); // a redelivered push
    const renders = rig.ofType('render');
    expect(renders.map((e) => `${e.seq}/${e.via}`)).toEqual(['1/push', '2/sync', '3/push']);
    expect(rig.metrics.count('messages.duplicate')).toBe(2);
    expect(rig.ofType('ok').filter((e) => e.op === 'sync').at(-1)).toMatchObject({ id: sync.id, messages: 2, hasMore: false });
    rig.time.advance(50);
    expect(conn.ofType('ack').at(-1)).toEqual({ type: 'ack', chat: CHAT, upTo: 3 });
  });

  it('a gap filled by the push itself needs no sync', () => {
    const rig = makePhone({ gapSyncDelayMs: 100 });
    const conn = startReady(rig);
    conn.push(message(2));
    conn.push(message(1));
    rig.time.advance(1_000);
    expect(rig.ofType('render').map((e) => e.seq)).toEqual([1, 2]);
    expect(conn.ofType('sync')).toHaveLength(1); // only the one on connect
  });

  it('pages through sync_result with hasMore and applies synced receipts', () => {
    const rig = makePhone();
    rig.phone.start();
    const conn = rig.transport.last();
    conn.accept();
    const first = conn.ofType('sync')[0]!;
    expect(first.chats).toEqual({ [CHAT]: 0, [GROUP]: 0 });
    conn.push({ type: 'sync_result', ref: first.id, epoch: 'e1', hasMore: true,
      chats: [{ chat: CHAT, messages: [message(1), message(2)], head: 3, hasMore: true, receipts: [] }] });
    const second = conn.ofType('sync')[1]!;
    expect(second.chats).toMatchObject({ [CHAT]: 2 });
    expect(second.epoch).toBe('e1');
    expect(rig.phone.state().phase).toBe('syncing');
    conn.push({ type: 'sync_result', ref: second.id, epoch: 'e1', hasMore: false,
      chats: [{ chat: CHAT, messages: [message(3)], head: 3, hasMore: false, receipts: [] }] });
    expect(rig.phone.state().phase).toBe('ready');
    expect(rig.ofType('render').map((e) => `${e.seq}/${e.via}`)).toEqual(['1/sync', '2/sync', '3/sync']);
    expect(rig.metrics.values('syncMessages')).toEqual([3]);
    expect(rig.ofType('invoke').filter((e) => e.op === 'sync')).toHaveLength(2);
  });

  it('renders own messages sent from another device, and treats its own echo as the ACK', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    conn.push(message(1, 'alice', CHAT, 'd2'));
    expect(rig.ofType('render')).toMatchObject([{ seq: 1, from: 'alice' }]);
    const id = rig.phone.send(CHAT, 'mine');
    conn.push({ ...message(2, 'alice', CHAT, 'd1'), clientMsgId: id });
    expect(rig.ofType('ok').filter((e) => e.op === 'send')).toMatchObject([{ clientMsgId: id, seq: 2 }]);
    expect(rig.ofType('render')).toHaveLength(1);
  });

  it('records typing, presence and presence_result observations', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    expect(rig.ofType('ready')).toHaveLength(1); // hello and sync done
    // It asked for its friends' presence once, at the hello (pushes sent while it was away are gone).
    expect(conn.ofType('presence_query')).toHaveLength(1);
    conn.push({ type: 'typing', chat: CHAT, user: 'bob' });
    conn.push({ type: 'presence', user: 'bob', online: true });
    rig.time.advance(40);
    expect(rig.phone.queryPresence()).toBe(true);
    const askedAt = rig.time.nowMs() - rig.startMs;
    const query = conn.ofType('presence_query')[1]!;
    expect(query.users).toEqual(['bob']);
    rig.time.advance(300);
    conn.push({ type: 'presence_result', ref: query.id, users: [{ user: 'bob', online: false }] });
    expect(rig.ofType('typing-seen')).toMatchObject([{ chat: CHAT, user: 'bob' }]);
    expect(rig.ofType('presence-seen').map((e) => e.online)).toEqual([true, false]);
    // The answer carries when it was asked, on the history's clock (ms since the run started).
    const answer = rig.ofType('presence-seen')[1]!;
    expect(answer.askedAt).toBe(askedAt);
    expect(answer.t - answer.askedAt!).toBe(300);
    expect(rig.ofType('presence-seen')[0]!.askedAt).toBeUndefined();
  });

  it('asks for presence at the hello, not after a sync paged over several rounds (FA4)', () => {
    const rig = makePhone();
    rig.phone.start();
    const conn = rig.transport.last();
    conn.accept();
    // The hello arrived and the first sync page is out; the query goes with it.
    expect(conn.ofType('sync')).toHaveLength(1);
    expect(conn.ofType('presence_query')).toHaveLength(1);
    const query = conn.ofType('presence_query')[0]!;
    conn.push({ type: 'presence_result', ref: query.id, users: [{ user: 'bob', online: true }] });
    rig.time.advance(2000);
    answerSync(conn, [], true); // more to come
    rig.time.advance(2000);
    answerSync(conn);
    expect(rig.ofType('ready')).toHaveLength(1);
    expect(conn.ofType('presence_query')).toHaveLength(1); // not asked again at ready
  });

  // Seed 593768: a sync paged over 56 rounds held every receipt until it was done (20 s).
  it('acknowledges what a sync page brought while the sync is still paging', () => {
    const rig = makePhone();
    rig.phone.start();
    const conn = rig.transport.last();
    conn.accept();
    answerSync(conn, [{ chat: CHAT, messages: [message(1), message(2)] }], true);
    expect(rig.phone.state().phase).toBe('syncing');
    rig.time.advance(100);
    expect(conn.ofType('ack')).toEqual([{ type: 'ack', chat: CHAT, upTo: 2 }]);
  });

  // Seed 31: the answer to the query at the hello was lost in a broker-loss window, and the
  // phone showed a friend offline until its next sync round, 19 s later.
  it('asks again when a presence answer does not come back within presenceQueryTimeoutMs on the same link', () => {
    const rig = makePhone({ presenceQueryTimeoutMs: 3_000 });
    const conn = startReady(rig);
    expect(conn.ofType('presence_query')).toHaveLength(1);
    rig.time.advance(2_999);
    expect(conn.ofType('presence_query')).toHaveLength(1);
    rig.time.advance(1);
    const [first, second] = conn.ofType('presence_query');
    expect(second!.users).toEqual(first!.users);
    expect(second!.id).not.toBe(first!.id);
    expect(rig.metrics.count('presence.queryTimeouts')).toBe(1);
    // Answered: nothing more. (A late answer to the first is still shown, with its own askedAt.)
    conn.push({ type: 'presence_result', ref: second!.id, users: [{ user: 'bob', online: true }] });
    rig.time.advance(10_000);
    expect(conn.ofType('presence_query')).toHaveLength(2);
    // A query left unanswered on a link that died is not repeated there; the next hello asks anew.
    rig.phone.queryPresence();
    conn.fail(1006, 'gone');
    rig.time.advance(60_000);
    expect(rig.metrics.count('presence.queryTimeouts')).toBe(1);
  });

  it('a presence answer asked before a push that arrived since does not overwrite the push', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    const first = conn.ofType('presence_query')[0]!;
    rig.time.advance(200);
    conn.push({ type: 'presence', user: 'bob', online: true }); // bob connected after the snapshot was taken
    rig.time.advance(100);
    conn.push({ type: 'presence_result', ref: first.id, users: [{ user: 'bob', online: false }] });
    expect(rig.ofType('presence-seen').map((e) => e.online)).toEqual([true]);
    // An answer asked after the push is newer, and shown.
    rig.time.advance(100);
    rig.phone.queryPresence();
    const second = conn.ofType('presence_query').at(-1)!;
    rig.time.advance(100);
    conn.push({ type: 'presence_result', ref: second.id, users: [{ user: 'bob', online: false }] });
    expect(rig.ofType('presence-seen').map((e) => e.online)).toEqual([true, false]);
  });

  it('on SYNC_RESET starts over with an empty sync; a retryable sync error syncs again later', () => {
    const rig = makePhone();
    const conn = startReady(rig);
    conn.push(message(1));
    conn.push(message(3)); // gap: a sync follows
    rig.time.advance(100);
    const gapSync = conn.ofType('sync').at(-1)!;
    expect(gapSync.chats![CHAT]).toBe(1);
    conn.push({ type: 'error', code: 'SYNC_RESET', message: 'old epoch', ref: gapSync.id });
    const fresh = conn.ofType('sync').at(-1)!;
    expect(fresh.id).not.toBe(gapSync.id);
    expect(fresh.chats).toEqual({ [CHAT]: 0, [GROUP]: 0 });
    expect(fresh.epoch).toBeUndefined();
    conn.push({ type: 'error', code: 'UNAVAILABLE', message: 'busy', ref: fresh.id });
    const count = conn.ofType('sync').length;
    rig.time.advance(1_000);
    expect(conn.ofType('sync')).toHaveLength(count + 1);
  });
});

describe('phone receipts refused by a gateway cut off from the backends (issue 14, R3, seed 671663)', () => {
  it('re-sends a read and an ack refused with UNAVAILABLE (no ref: receipts carry no id) once the gateway heals', () => {
    const rig = makePhone({ ackDelayMs: 50, readDebounceMs: 500 });
    const conn = startReady(rig);
    rig.phone.setForeground(true);
    rig.phone.openChat(CHAT);
    conn.push(message(1));
    conn.push(message(1, 'carol', GROUP));
    rig.time.advance(500);
    expect(conn.ofType('read')).toEqual([{ type: 'read', chat: CHAT, upTo: 1 }]);
    expect(conn.ofType('ack').filter((a) => a.chat === GROUP)).toEqual([{ type: 'ack', chat: GROUP, upTo: 1 }]);
    // The gateway is partitioned: both receipts are refused, as the gateway refuses any frame.
    conn.push({ type: 'error', code: 'UNAVAILABLE', message: 'unavailable' });
    conn.push({ type: 'error', code: 'UNAVAILABLE', message: 'unavailable' });
    // It heals and tells the phone to sync; the sync finds nothing new, yet the receipts are owed.
    conn.push({ type: 'resync', reason: 'broker-link-restored' });
    answerSync(conn);
    rig.time.advance(100);
    expect(conn.ofType('read')).toEqual([{ type: 'read', chat: CHAT, upTo: 1 }, { type: 'read', chat: CHAT, upTo: 1 }]);
    expect(conn.ofType('ack').filter((a) => a.chat === GROUP)).toHaveLength(2);
  });

  it('retries refused receipts after a backoff even without a resync (a refusal of the queue itself)', () => {
    const rig = makePhone({ ackDelayMs: 50, sendRetryBaseMs: 1_000 });
    const conn = startReady(rig);
    conn.push(message(1));
    rig.time.advance(50);
    expect(conn.ofType('ack')).toHaveLength(1);
    conn.push({ type: 'error', code: 'UNAVAILABLE', message: 'unavailable' });
    rig.time.advance(1_000);
    expect(conn.ofType('ack')).toEqual([{ type: 'ack', chat: CHAT, upTo: 1 }, { type: 'ack', chat: CHAT, upTo: 1 }]);
    rig.time.advance(60_000);
    expect(conn.ofType('ack')).toHaveLength(2); // not refused again: not repeated
  });
});
