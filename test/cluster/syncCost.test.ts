// What a watermark sync reads from the store per chat: an empty chat (head 0) costs its head
// probe only, not its tick state (a cursor_marks partition read in Cassandra), while a chat with
// messages still reports the ticks the phone missed.
import { describe, expect, it, vi } from 'vitest';
import { ChatServer } from '../../server/chat/ChatServer.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { gatewayChannel } from '../../server/protocol/envelopes.ts';
import type { SyncResultFrame } from '../../server/protocol/frames.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

describe('watermark sync cost per chat', () => {
  it('reads no tick state for a chat with no message, and the ticks of one with messages', async () => {
    const time = new ManualTime();
    const broker = new MemoryBroker();
    const directory = new MemoryDirectory();
    const presence = new MemoryPresenceStore(time);
    const store = new MemoryMessageStore();
    const server = new ChatServer({ id: 'cs1', clock: time, queue: new MemoryInboundQueue({ timers: time }), broker, store, directory, presence, limits: resolveLimits() });
    for (const user of ['alice', 'bob']) await presence.put({ userId: user, connectionId: `c-${user}`, deviceId: 'd', gatewayId: 'gw' }, 1e12);
    const frames: Array<{ to: string; frame: { type: string } }> = [];
    await broker.subscribe(gatewayChannel('gw'), (payload) => {
      const delivery = JSON.parse(payload) as { to?: string[]; frame: string };
      for (const to of delivery.to ?? []) frames.push({ to, frame: JSON.parse(delivery.frame) });
    });
    const handle = async (user: string, frame: object): Promise<void> => {
      await server.handleEntry({ key: user, redeliveries: 0, payload: JSON.stringify({ gw: 'gw', conn: `c-${user}`, user, device: 'd', frame: JSON.stringify(frame) }) });
      await new Promise((resolve) => setImmediate(resolve));
    };
    await directory.createChat({ id: 'd:alice:bob', kind: 'direct', name: '', memberIds: ['alice', 'bob'], createdAtMs: 0 });
    await directory.createChat({ id: 'g:empty', kind: 'group', name: 'g', memberIds: ['alice', 'bob'], createdAtMs: 0 });
    await handle('alice', { type: 'send', chat: 'd:alice:bob', clientMsgId: 'a1', body: 'hi' });
    await handle('bob', { type: 'read', chat: 'd:alice:bob', upTo: 1 });

    // The sync reads the tick state (cursors and what was told: never report less); the memory
    // store's tickState reads its cursors through getCursors, so each chat read shows in one or both.
    const tickReads = [vi.spyOn(store, 'tickState'), vi.spyOn(store, 'getCursors')];
    frames.length = 0;
    await handle('alice', { type: 'sync', id: 's1', chats: { 'd:alice:bob': 1, 'g:empty': 0 } });
    const result = frames.find((f) => f.to === 'c-alice' && f.frame.type === 'sync_result')!.frame as SyncResultFrame;
    const byChat = new Map((result.chats ?? []).map((c) => [c.chat, c]));
    expect(byChat.get('g:empty')).toEqual({ chat: 'g:empty', messages: [], head: 0, hasMore: false, receipts: [] });
    // Bob read alice's message: the sync still tells her (delivered and read up to 1).
    expect(byChat.get('d:alice:bob')?.receipts.map((r) => `${r.kind}:${r.upTo}`)).toEqual(['delivered:1', 'read:1']);
    const chatsRead = tickReads.flatMap((spy) => spy.mock.calls.map((call) => call[0]));
    expect([...new Set(chatsRead)]).toEqual(['d:alice:bob']);
  });
});
