// Issue 14, R1: the phone put every chat in one sync frame whatever the server's syncChatsMax, and
// the server refuses more with INVALID_FIELD, so a phone in more chats than the limit never synced.
// The hello announces the limits; the phone pages its syncs within them (count and bytes).
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { DEFAULT_LIMITS, helloLimits } from '../../server/protocol/limits.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { Phone } from '../../simulator/phone/Phone.ts';
import { FakeServerTransport } from './FakeServerTransport.ts';
import { CHAT, GROUP, makePhone, message, RecordingMetrics } from './fixtures.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';

const limits = (over: Partial<typeof DEFAULT_LIMITS>) => helloLimits({ ...DEFAULT_LIMITS, ...over });

describe('phone sync paging within the limits the hello announces', () => {
  it('never lists more chats than syncChatsMax, asks for the listed chats only, and pages every chat to its end', () => {
    const rig = makePhone({}, new SeededRandom(3));
    rig.phone.start();
    const conn = rig.transport.last();
    conn.accept(25_000, limits({ syncChatsMax: 1 }));
    const first = conn.ofType('sync')[0]!;
    expect(Object.keys(first.chats!)).toHaveLength(1);
    expect(first.listedOnly).toBe(true);
    const firstChat = Object.keys(first.chats!)[0]!;
    // The first chat has more than one page: it is asked again before the round moves on.
    conn.push({ type: 'sync_result', ref: first.id, epoch: 'e1', hasMore: true,
      chats: [{ chat: firstChat, messages: [message(1, 'bob', firstChat)], head: 2, hasMore: true, receipts: [] }] });
    const second = conn.ofType('sync')[1]!;
    expect(second.chats).toEqual({ [firstChat]: 1 });
    conn.push({ type: 'sync_result', ref: second.id, epoch: 'e1', hasMore: false,
      chats: [{ chat: firstChat, messages: [message(2, 'bob', firstChat)], head: 2, hasMore: false, receipts: [] }] });
    const third = conn.ofType('sync')[2]!;
    const otherChat = firstChat === CHAT ? GROUP : CHAT;
    expect(third.chats).toEqual({ [otherChat]: 0 });
    expect(rig.phone.state().phase).toBe('syncing');
    conn.push({ type: 'sync_result', ref: third.id, epoch: 'e1', hasMore: false,
      chats: [{ chat: otherChat, messages: [], head: 0, hasMore: false, receipts: [] }] });
    expect(rig.phone.state().phase).toBe('ready');
    expect(conn.ofType('sync')).toHaveLength(3);
    expect(rig.ofType('render').map((e) => `${e.chat}:${e.seq}`)).toEqual([`${firstChat}:1`, `${firstChat}:2`]);
  });

  it('keeps a page within frameBytesMax as well', () => {
    const rig = makePhone();
    rig.phone.start();
    const conn = rig.transport.last();
    // Room for one chat entry and the frame around it, not two.
    conn.accept(25_000, limits({ frameBytesMax: 276, syncChatsMax: 1_000, bodyBytesMax: 10 }));
    const first = conn.ofType('sync')[0]!;
    expect(Object.keys(first.chats!)).toHaveLength(1);
    expect(JSON.stringify(first).length).toBeLessThanOrEqual(276);
  });

  it('sends one whole sync, as before, when every chat fits', () => {
    const rig = makePhone();
    rig.phone.start();
    const conn = rig.transport.last();
    conn.accept(25_000, limits({}));
    const first = conn.ofType('sync')[0]!;
    expect(first.chats).toEqual({ [CHAT]: 0, [GROUP]: 0 });
    expect(first.listedOnly).toBeUndefined();
  });
});

describe('phone presence queries within the limits the hello announces', () => {
  it('asks about at most presenceQueryUsersMax friends per query, every friend once', () => {
    const time = new ManualTime();
    const transport = new FakeServerTransport(() => time.nowMs());
    const friends = ['bob', 'carol', 'dave', 'erin', 'frank'];
    const phone = new Phone({
      user: 'alice', device: 'd1', token: 't', gatewayUrls: ['ws://gw1'], chats: [{ id: CHAT, kind: 'direct', members: ['alice', 'bob'] }],
      friends, driver: new ChatsimV1Driver(transport), time, random: new SeededRandom(1), history: { record: () => undefined }, metrics: new RecordingMetrics(), startMs: time.nowMs(),
    });
    phone.start();
    const conn = transport.last();
    conn.accept(25_000, limits({ presenceQueryUsersMax: 2 }));
    conn.push({ type: 'sync_result', ref: conn.ofType('sync')[0]!.id, epoch: 'e1', hasMore: false, chats: [] });
    const queries = conn.ofType('presence_query');
    expect(queries.map((q) => q.users.length)).toEqual([2, 2, 1]);
    expect(queries.flatMap((q) => q.users)).toEqual(friends);
  });
});
