// Several chat servers over shared backends, fed frames directly (no gateway, no queue), with
// every receipt they route captured: for tests of what the chat servers announce, and which
// one handles each frame. Each server may have a store of its own on one database (Cassandra:
// two processes) or share one (memory).
import { expect } from 'vitest';
import { ChatServer } from '../../server/chat/ChatServer.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import type { MessageStore } from '../../server/ports/MessageStore.ts';
import type { ReceiptFrame } from '../../server/protocol/frames.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

export interface ChatServerRig {
  servers: ChatServer[];
  directory: MemoryDirectory;
  /** Every receipt routed, in order, with the user it went to. */
  receipts: Array<ReceiptFrame & { to: string }>;
  /** Hands `frame` from `user` (device d, connection c-<user>) to server number `server`; resolves when handled. */
  handle(server: number, user: string, frame: object, redeliveries?: number): Promise<void>;
  /** Receipts routed since the last call. */
  takeReceipts(): Array<ReceiptFrame & { to: string }>;
}

export async function startChatServerRig(stores: MessageStore[], users: string[]): Promise<ChatServerRig> {
  const time = new ManualTime();
  const broker = new MemoryBroker();
  const directory = new MemoryDirectory();
  const presence = new MemoryPresenceStore(time);
  const servers = stores.map((store, i) => new ChatServer({
    id: `cs${i + 1}`, clock: time, queue: new MemoryInboundQueue({ timers: time }), broker, store, directory, presence, limits: resolveLimits(),
  }));
  for (const user of users) await presence.put({ userId: user, connectionId: `c-${user}`, deviceId: 'd', gatewayId: 'gw' }, 1e12);
  const receipts: Array<ReceiptFrame & { to: string }> = [];
  await broker.subscribe('gw:gw', (payload) => {
    const delivery = JSON.parse(payload) as { to?: string[]; frame: string };
    const frame = JSON.parse(delivery.frame) as { type: string };
    if (frame.type !== 'receipt') return;
    for (const connection of delivery.to ?? []) receipts.push({ ...(frame as ReceiptFrame), to: connection.replace(/^c-/, '') });
  });
  let taken = 0;
  return {
    servers, directory, receipts,
    async handle(server, user, frame, redeliveries = 0) {
      const payload = JSON.stringify({ gw: 'gw', conn: `c-${user}`, user, device: 'd', frame: JSON.stringify(frame) });
      await servers[server]!.handleEntry({ key: user, redeliveries, payload });
      // Routing through the broker is asynchronous in the memory broker: let it deliver.
      await new Promise((resolve) => setImmediate(resolve));
    },
    takeReceipts() {
      const fresh = receipts.slice(taken);
      taken = receipts.length;
      return fresh;
    },
  };
}

/** The cross-server scenario; `stores` has one store per chat server (or the same one twice). */
export async function twoServersRepeatNoTick(stores: [MessageStore, MessageStore], chatId: string): Promise<void> {
  const rig = await startChatServerRig(stores, ['alice', 'bob', 'carol']);
  await rig.directory.createChat({ id: chatId, kind: 'group', name: 'g', memberIds: ['alice', 'bob', 'carol'], createdAtMs: 0 });
  await rig.handle(0, 'alice', { type: 'send', chat: chatId, clientMsgId: 'a1', body: '1' });
  await rig.handle(0, 'alice', { type: 'send', chat: chatId, clientMsgId: 'a2', body: '2' });
  await rig.handle(0, 'bob', { type: 'ack', chat: chatId, upTo: 2 });
  await rig.handle(0, 'carol', { type: 'ack', chat: chatId, upTo: 1 });
  // Server 1 tells alice her delivered tick: min(bob 2, carol 1) = 1.
  expect(rig.takeReceipts()).toEqual([{ type: 'receipt', chat: chatId, user: '*', kind: 'delivered', upTo: 1, to: 'alice' }]);
  // Alice's own ack, on server 2, moves a cursor but not her tick: nobody is told anything.
  await rig.handle(1, 'alice', { type: 'ack', chat: chatId, upTo: 2 });
  expect(rig.takeReceipts()).toEqual([]);
  // Carol catches up on server 2: alice's tick rises to 2 and she is told once.
  await rig.handle(1, 'carol', { type: 'read', chat: chatId, upTo: 2 });
  expect(rig.takeReceipts()).toEqual([{ type: 'receipt', chat: chatId, user: '*', kind: 'delivered', upTo: 2, to: 'alice' }]);
  // Bob reads on server 1 after carol: alice's read tick rises (min(bob 2, carol 2)), once.
  await rig.handle(0, 'bob', { type: 'read', chat: chatId, upTo: 2 });
  expect(rig.takeReceipts()).toEqual([{ type: 'receipt', chat: chatId, user: '*', kind: 'read', upTo: 2, to: 'alice' }]);
  // A repeated read on the other server changes nothing and says nothing.
  await rig.handle(1, 'bob', { type: 'read', chat: chatId, upTo: 2 });
  await rig.handle(1, 'carol', { type: 'read', chat: chatId, upTo: 2 });
  expect(rig.takeReceipts()).toEqual([]);
  // Every receipt alice got, over both servers, moved a tick: no tick was told twice.
  const told = rig.receipts.map((r) => `${r.to}:${r.kind}:${r.upTo}`);
  expect(new Set(told).size).toBe(told.length);
}
