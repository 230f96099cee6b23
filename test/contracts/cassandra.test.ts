/**
 * The MessageStore contract against a real Apache Cassandra (CassandraMessageStore), plus what
 * only a shared database can show: two stores (two chat servers) on one keyspace.
 *
 * Runs whenever Cassandra answers at CHATSIM_CASSANDRA (default 127.0.0.1:9042; start one with
 * `bash scripts/cassandra.sh start`), and is skipped with the reason otherwise. With CI=true an
 * unreachable Cassandra is a failure, not a skip: CI must prove the suite ran.
 *
 * Each run of this file works in a keyspace of its own (created with applySchema, dropped at the
 * end), with small buckets so that paging crosses partition boundaries.
 */
import type { Client } from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { applySchema } from '../../server/cassandra/applySchema.ts';
import { CassandraMessageStore } from '../../server/cassandra/CassandraMessageStore.ts';
import { createCassandraClient, DEFAULT_CASSANDRA } from '../../server/cassandra/client.ts';
import type { AppendInput } from '../../server/ports/MessageStore.ts';
import { cassandraUnreachable, uniqueId } from './helpers.ts';
import { describeMessageStoreContract } from './messageStoreContract.ts';
import { twoServersRepeatNoTick } from '../support/chatServerRig.ts';

const contactPoint = process.env.CHATSIM_CASSANDRA ?? DEFAULT_CASSANDRA;
const inCi = process.env.CI === 'true';
const keyspace = `chatsim_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const MESSAGE_BUCKET = 8;
const INBOX_BUCKET = 5;

const unreachable = await cassandraUnreachable(contactPoint);
const skipReason = unreachable === undefined ? '' : `no Cassandra at ${contactPoint} (${unreachable}); start one with: bash scripts/cassandra.sh start`;
if (unreachable !== undefined && !inCi) console.warn(`[cassandra.test] skipped: ${skipReason}`);

if (unreachable !== undefined && inCi) {
  describe('Cassandra', () => {
    it('is reachable (required when CI=true)', () => {
      throw new Error(`CI=true but ${skipReason}`);
    });
  });
}

describe.skipIf(unreachable !== undefined)(`Cassandra at ${contactPoint}${unreachable !== undefined ? ` (skipped: ${skipReason})` : ''}`, () => {
  let client: Client;

  beforeAll(async () => {
    client = createCassandraClient(contactPoint);
    await client.connect();
    await applySchema(client, keyspace);
  });

  afterAll(async () => {
    if (!client) return;
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
    await client.shutdown();
  });

  const open = (): Promise<CassandraMessageStore> =>
    CassandraMessageStore.open(client, { keyspace, messageBucketSize: MESSAGE_BUCKET, inboxBucketSize: INBOX_BUCKET });

  describeMessageStoreContract('CassandraMessageStore', async () => ({
    store: await open(),
    // The shared client is closed once, in afterAll.
    cleanup: async () => {},
  }));

  describe('CassandraMessageStore on a shared keyspace (several chat servers)', () => {
    let counter = 0;
    const input = (chatId: string, senderId: string, clientMsgId: string): AppendInput => ({
      chatId, senderId, senderDeviceId: `${senderId}-phone`, clientMsgId, body: `body of ${clientMsgId}`,
      msgId: `m-${String(++counter).padStart(8, '0')}`, sentAtMs: 1_700_000_000_000 + counter,
    });

    it('keeps the epoch and bucket sizes of the first open', async () => {
      const a = await open();
      const b = await CassandraMessageStore.open(client, { keyspace, messageBucketSize: 999, inboxBucketSize: 999, newEpoch: () => 'other' });
      expect(b.epoch).toBe(a.epoch);
      expect([b.messageBucketSize, b.inboxBucketSize]).toEqual([MESSAGE_BUCKET, INBOX_BUCKET]);
      expect(await applySchema(client, keyspace)).toMatchObject({ keyspace, statements: 13 });
    });

    it('adds last_sent_seq to a cursor_marks table made by an earlier version', async () => {
      const old = uniqueId('ks_old').replace(/[^a-z0-9_]/g, '_').slice(0, 40);
      await client.execute(`CREATE KEYSPACE ${old} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      try {
        await client.execute(`CREATE TABLE ${old}.cursor_marks (chat_id text, user_id text, delivered_upto bigint, read_upto bigint, PRIMARY KEY ((chat_id), user_id))`);
        await client.execute(`UPDATE ${old}.cursor_marks USING TIMESTAMP 6 SET delivered_upto = 5 WHERE chat_id = 'c' AND user_id = 'bob'`);
        await applySchema(client, old);
        await applySchema(client, old);
        const columns = await client.execute(`SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = 'cursor_marks'`, [old], { prepare: true });
        expect(columns.rows.map((r) => String(r.get('column_name'))).sort()).toEqual(['chat_id', 'delivered_announced', 'delivered_upto', 'last_sent_seq', 'read_announced', 'read_upto', 'user_id']);
        const store = await CassandraMessageStore.open(client, { keyspace: old });
        expect(await store.tickState('c')).toEqual({ cursors: new Map([['bob', { delivered: 5, read: 0 }]]), lastSeqBySender: new Map(), announced: new Map() });
      } finally {
        await client.execute(`DROP KEYSPACE IF EXISTS ${old}`);
      }
    });

    it('two stores appending concurrently to one chat give contiguous seqs and store each send once', async () => {
      const [a, b] = [await open(), await open()];
      const chat = uniqueId('chat-shared');
      const inputs = Array.from({ length: 40 }, (_, i) => input(chat, `s${i % 3}`, `k${i}`));
      // Every send goes to both stores, as a client retry routed to another chat server would.
      const results = await Promise.all(inputs.flatMap((i) => [a.append({ ...i }), b.append({ ...i })]));
      expect(results.filter((r) => r.created)).toHaveLength(40);
      const seqOf = new Map<string, number>();
      for (const r of results) {
        const previous = seqOf.get(r.message.clientMsgId);
        if (previous !== undefined) expect(r.message.seq).toBe(previous);
        seqOf.set(r.message.clientMsgId, r.message.seq);
      }
      expect([...seqOf.values()].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const page = await a.readChat(chat, 0, 100);
      expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(page.messages.map((m) => m.clientMsgId).sort()).toEqual(inputs.map((i) => i.clientMsgId).sort());
      expect(await b.headSeq(chat)).toBe(40);
    });

    it('findSend on another store (no cache of the send) reads the placed message from its claim and slot', async () => {
      const [a, b] = [await open(), await open()];
      const chat = uniqueId('chat-find');
      const one = input(chat, 'alice', 'f1');
      const two = input(chat, 'bob', 'f2');
      await a.append(one);
      await a.append(two);
      expect(await b.findSend(chat, 'bob', 'f2')).toEqual({ ...two, seq: 2 });
      expect(await b.findSend(chat, 'alice', 'f1')).toEqual({ ...one, seq: 1 });
      expect(await b.findSend(chat, 'alice', 'f2')).toBeUndefined();
      // A claim whose message is not placed (its chat server stopped after the claim) is not a stored send.
      await client.execute(`INSERT INTO ${keyspace}.send_claims (chat_id, sender_id, client_msg_id, owner, trying_seq, msg_id, sender_device_id, body, sent_at_ms)
        VALUES (?, 'carol', 'half', uuid(), 3, 'm-half', 'carol-phone', 'half', 1)`, [chat], { prepare: true });
      expect(await b.findSend(chat, 'carol', 'half')).toBeUndefined();
      expect(await b.headSeq(chat)).toBe(2);
    });

    it('finishes a send whose chat server stopped after the claim, without a gap or a duplicate', async () => {
      const store = await open();
      const chat = uniqueId('chat-interrupted');
      const lost = input(chat, 'alice', 'lost');
      // A chat server claimed (chat, alice, lost) for slot 1 and stopped before writing the row.
      await client.execute(
        `INSERT INTO ${keyspace}.send_claims (chat_id, sender_id, client_msg_id, owner, trying_seq, msg_id, sender_device_id, body, sent_at_ms) VALUES (?, ?, ?, uuid(), 1, ?, ?, ?, ?)`,
        [chat, 'alice', 'lost', lost.msgId, lost.senderDeviceId, lost.body, lost.sentAtMs], { prepare: true });
      // Meanwhile another send takes slot 1.
      expect((await store.append(input(chat, 'bob', 'b1'))).message.seq).toBe(1);
      // The client retries with a new body: it gets the first call's message, at the next seq.
      const retried = await store.append({ ...lost, body: 'retry body', msgId: 'other-id' });
      expect(retried).toEqual({ created: false, message: { ...lost, seq: 2 } });
      expect((await store.append(input(chat, 'bob', 'b2'))).message.seq).toBe(3);
      expect((await store.readChat(chat, 0, 10)).messages.map((m) => [m.seq, m.clientMsgId])).toEqual([[1, 'b1'], [2, 'lost'], [3, 'b2']]);
      expect((await store.tickState(chat)).lastSeqBySender).toEqual(new Map([['alice', 2], ['bob', 3]]));
    });

    it('answers a retry of a send it placed from memory, with no statement (the stored message, whatever the retry carries)', async () => {
      const [store, other] = [await open(), await open()];
      const chat = uniqueId('chat-retry');
      const first = input(chat, 'alice', 'r1');
      const placed = await store.append(first);
      expect(placed).toEqual({ created: true, message: { ...first, seq: 1 } });
      const execute = vi.spyOn(client, 'execute');
      try {
        const retried = await store.append({ ...first, body: 'another body', msgId: 'other-id', sentAtMs: 1 });
        expect(retried).toEqual({ created: false, message: { ...first, seq: 1 } });
        expect(execute).not.toHaveBeenCalled();
        // Another chat server (its own store) does not remember it: it reads the claim and answers the same.
        expect(await other.append({ ...first, msgId: 'third-id' })).toEqual({ created: false, message: { ...first, seq: 1 } });
        expect(execute).toHaveBeenCalled();
      } finally {
        execute.mockRestore();
      }
      expect((await store.readChat(chat, 0, 10)).messages.map((m) => [m.seq, m.clientMsgId])).toEqual([[1, 'r1']]);
      expect((await other.tickState(chat)).lastSeqBySender).toEqual(new Map([['alice', 1]]));
    });

    it('a store that never saw a chat finds its head in one query while it fits the first bucket', async () => {
      const writer = await open();
      const [empty, short] = [uniqueId('chat-cold-empty'), uniqueId('chat-cold-short')];
      for (let i = 0; i < 3; i++) await writer.append(input(short, 'alice', `c${i}`));
      const cold = await open();
      const execute = vi.spyOn(client, 'execute');
      try {
        expect(await cold.headSeq(empty)).toBe(0);
        expect(execute).toHaveBeenCalledTimes(1);
        expect(await cold.readChat(short, 0, 0)).toEqual({ messages: [], headSeq: 3, hasMore: true });
        expect(execute).toHaveBeenCalledTimes(2);
      } finally {
        execute.mockRestore();
      }
    });

    it('finds the head when the bucket hint lags (a writer stopped before updating it)', async () => {
      const store = await open();
      const chat = uniqueId('chat-hint');
      for (let i = 1; i <= MESSAGE_BUCKET * 2 + 1; i++) await store.append(input(chat, 'alice', `h${i}`));
      await client.execute(`DELETE FROM ${keyspace}.chat_heads WHERE chat_id = ?`, [chat], { prepare: true });
      // A store opened now knows nothing of the chat (the writer's store remembers its head).
      expect(await (await open()).headSeq(chat)).toBe(MESSAGE_BUCKET * 2 + 1);
      expect(await store.headSeq(chat)).toBe(MESSAGE_BUCKET * 2 + 1);
      expect((await store.append(input(chat, 'alice', 'after'))).message.seq).toBe(MESSAGE_BUCKET * 2 + 2);
      expect((await store.readChat(chat, MESSAGE_BUCKET - 2, 4)).messages.map((m) => m.seq)).toEqual([7, 8, 9, 10]);
    });

    it('reads what another store appended since, across buckets, although it remembers an older head', async () => {
      const [reader, writer] = [await open(), await open()];
      const chat = uniqueId('chat-stale-head');
      for (let i = 1; i <= 3; i++) await writer.append(input(chat, 'alice', `s${i}`));
      expect(await reader.readChat(chat, 3, 10)).toMatchObject({ messages: [], headSeq: 3, hasMore: false });
      for (let i = 4; i <= MESSAGE_BUCKET * 2 + 3; i++) await writer.append(input(chat, 'bob', `s${i}`));
      // It remembers head 3; a seq past that is read, not assumed absent.
      expect(await reader.reaches(chat, MESSAGE_BUCKET * 2 + 3)).toBe(true);
      expect(await reader.reaches(chat, MESSAGE_BUCKET * 2 + 4)).toBe(false);
      const page = await reader.readChat(chat, 3, 100);
      expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: MESSAGE_BUCKET * 2 }, (_, i) => i + 4));
      expect(page.headSeq).toBe(MESSAGE_BUCKET * 2 + 3);
      // A watermark far past the head (a client's word is anything) still gets the true head.
      expect(await (await open()).readChat(chat, MESSAGE_BUCKET * 9, 10)).toEqual({ messages: [], headSeq: MESSAGE_BUCKET * 2 + 3, hasMore: false });
      expect(await reader.readChat(chat, MESSAGE_BUCKET * 9, 10)).toEqual({ messages: [], headSeq: MESSAGE_BUCKET * 2 + 3, hasMore: false });
    });

    it('advances a cursor another store moved, writing without a read; the highest value wins', async () => {
      const [a, b] = [await open(), await open()];
      const chat = uniqueId('chat-cursor-cache');
      expect(await a.advanceCursor(chat, 'bob', 'delivered', 5)).toEqual({ before: 0, after: 5 });
      // b never saw the cursor: it writes without reading and reports what it knew (nothing).
      expect(await b.advanceCursor(chat, 'bob', 'delivered', 8)).toEqual({ before: 0, after: 8 });
      // a remembers 5: an advance to 4 is a no-op with no I/O; one to 7 writes, and loses to the 8.
      expect(await a.advanceCursor(chat, 'bob', 'delivered', 4)).toEqual({ before: 5, after: 5 });
      expect(await a.advanceCursor(chat, 'bob', 'delivered', 7)).toEqual({ before: 5, after: 7 });
      expect((await b.getCursors(chat)).get('bob')).toEqual({ delivered: 8, read: 0 });
      expect(await a.advanceCursor(chat, 'bob', 'delivered', 9)).toEqual({ before: 7, after: 9 });
      expect((await b.getCursors(chat)).get('bob')).toEqual({ delivered: 9, read: 0 });
    });

    it('two chat servers, each on its own store, never repeat a tick (issue 15, finding 8)', async () => {
      await twoServersRepeatNoTick([await open(), await open()], uniqueId('g:ticks'));
    });
  });
});
