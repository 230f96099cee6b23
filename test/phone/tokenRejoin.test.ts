// Swarm seed 119: a phone syncing by token left a group holding seq 1, seq 2 was sent while it
// was out, and it was added again (joinedAtSeq 2). Its inbox resumes at seq 3, but the phone
// moved a timeline's start only for a first-time joiner (watermark 0), so it held seq 3 above
// the hole forever, waiting for a seq 2 the server never owes it (A5).
import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { InboxEvent } from '../../server/ports/MessageStore.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { Phone } from '../../simulator/phone/Phone.ts';
import { FakeServerTransport, type FakeConnection } from './FakeServerTransport.ts';
import { GROUP, message, RecordingMetrics } from './fixtures.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';

function tokenPhone() {
  const time = new ManualTime();
  const transport = new FakeServerTransport(() => time.nowMs());
  const events: HistoryEvent[] = [];
  const phone = new Phone({
    user: 'alice', device: 'd1', token: 'tok', gatewayUrls: ['ws://gw1'], syncMode: 'token',
    chats: [{ id: GROUP, kind: 'group', members: ['alice', 'bob', 'carol'] }],
    friends: ['bob'], driver: new ChatsimV1Driver(transport), time, random: new SeededRandom(7), history: { record: (e) => events.push(e) },
    metrics: new RecordingMetrics(), startMs: time.nowMs(), options: {},
  });
  const renders = () => events.filter((e) => e.type === 'render').map((e) => (e.type === 'render' ? e.seq : 0));
  return { phone, time, transport, renders };
}

const stored = (seq: number): InboxEvent => {
  const m = message(seq, 'bob', GROUP);
  return { kind: 'message', message: { chatId: GROUP, seq, msgId: m.msgId, senderId: 'bob', senderDeviceId: 'd1', clientMsgId: m.clientMsgId, body: m.body, sentAtMs: m.ts } };
};

function answer(conn: FakeConnection, from: number, inbox: InboxEvent[]): void {
  const sync = conn.ofType('sync').at(-1)!;
  const events = inbox.map((event, i) => ({ position: from + i, event }));
  conn.push({ type: 'sync_result', ref: sync.id, epoch: 'mem-1', hasMore: false, events, token: `tok-${from + inbox.length - 1}` });
}

describe('phone token sync: a member added again', () => {
  it('resumes its timeline at the first message event after its own member_added', () => {
    const { phone, time, transport, renders } = tokenPhone();
    phone.start();
    const conn = transport.last();
    conn.accept();
    answer(conn, 1, [{ kind: 'member_added', chatId: GROUP, userId: 'alice' }, stored(1)]);
    expect(phone.state().phase).toBe('ready');
    expect(renders()).toEqual([1]);
    // Removed, seq 2 sent while out, added again at head 2: the push of seq 3 lands above a hole.
    conn.push(message(3, 'bob', GROUP));
    expect(renders()).toEqual([1]);
    time.advance(1_000); // the gap sync
    answer(conn, 3, [
      { kind: 'member_removed', chatId: GROUP, userId: 'alice' },
      { kind: 'member_added', chatId: GROUP, userId: 'alice' },
      stored(3),
    ]);
    expect(renders()).toEqual([1, 3]);
    // Later messages follow on as usual.
    conn.push(message(4, 'bob', GROUP));
    expect(renders()).toEqual([1, 3, 4]);
  });

  it('a message event at or below the watermark (a copy repeated) does not mark where the chat resumes', () => {
    const { phone, time, transport, renders } = tokenPhone();
    phone.start();
    const conn = transport.last();
    conn.accept();
    answer(conn, 1, [{ kind: 'member_added', chatId: GROUP, userId: 'alice' }, stored(1), stored(2)]);
    conn.push(message(5, 'bob', GROUP));
    time.advance(1_000);
    answer(conn, 4, [
      { kind: 'member_removed', chatId: GROUP, userId: 'alice' },
      { kind: 'member_added', chatId: GROUP, userId: 'alice' },
      stored(2), // repeated by a second chat server's copy
      stored(5),
    ]);
    expect(renders()).toEqual([1, 2, 5]);
  });
});
