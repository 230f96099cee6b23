import type { CursorKind, InboxMark } from '../ports/MessageStore.ts';

/** The CQL statements of CassandraMessageStore on keyspace `ks` (tables: server/cassandra/schema.cql). */
export function statements(ks: string) {
  // Cursor cells are only ever written USING TIMESTAMP upTo + 1 (see advanceCursor), in a table
  // of their own: a cell written at wall-clock time would outrank every later advance.
  const cursorStatements = (column: string) => ({
    set: `UPDATE ${ks}.cursor_marks USING TIMESTAMP ? SET ${column} = ? WHERE chat_id = ? AND user_id = ?`,
  });
  const delivered = cursorStatements('delivered_upto');
  const read = cursorStatements('read_upto');
  return {
    claimSend: `INSERT INTO ${ks}.send_claims (chat_id, sender_id, client_msg_id, owner, trying_seq, msg_id, sender_device_id, body, sent_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
    // Rewrites the whole claim so that all of its columns share one TTL.
    moveSendSlot: `UPDATE ${ks}.send_claims SET trying_seq = ?, owner = ?, msg_id = ?, sender_device_id = ?, body = ?, sent_at_ms = ?
      WHERE chat_id = ? AND sender_id = ? AND client_msg_id = ? IF trying_seq = ?`,
    getSendClaim: `SELECT owner, trying_seq, msg_id, sender_device_id, body, sent_at_ms FROM ${ks}.send_claims
      WHERE chat_id = ? AND sender_id = ? AND client_msg_id = ?`,
    getMessageSender: `SELECT sender_id, client_msg_id FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? AND seq = ?`,
    insertMessage: `INSERT INTO ${ks}.messages (chat_id, bucket, seq, msg_id, sender_id, sender_device_id, client_msg_id, body, sent_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
    readMessages: `SELECT seq, msg_id, sender_id, sender_device_id, client_msg_id, body, sent_at_ms FROM ${ks}.messages
      WHERE chat_id = ? AND bucket = ? AND seq >= ? AND seq <= ?`,
    maxSeqInBucket: `SELECT seq FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? ORDER BY seq DESC LIMIT 1`,
    getChatHead: `SELECT bucket FROM ${ks}.chat_heads WHERE chat_id = ?`,
    setChatHead: `UPDATE ${ks}.chat_heads USING TIMESTAMP ? SET bucket = ? WHERE chat_id = ?`,
    setSenderLast: `UPDATE ${ks}.cursor_marks USING TIMESTAMP ? SET last_sent_seq = ? WHERE chat_id = ? AND user_id = ?`,
    getChatMarks: `SELECT user_id, delivered_upto, read_upto, last_sent_seq, delivered_announced, read_announced FROM ${ks}.cursor_marks WHERE chat_id = ?`,
    setAnnounced: {
      delivered: `UPDATE ${ks}.cursor_marks USING TIMESTAMP ? SET delivered_announced = ? WHERE chat_id = ? AND user_id = ?`,
      read: `UPDATE ${ks}.cursor_marks USING TIMESTAMP ? SET read_announced = ? WHERE chat_id = ? AND user_id = ?`,
    } satisfies Record<CursorKind, string>,
    setCursor: { delivered: delivered.set, read: read.set } satisfies Record<CursorKind, string>,
    getInboxIndex: `SELECT position FROM ${ks}.inbox_index WHERE user_id = ? AND event_key = ?`,
    setInboxIndex: `INSERT INTO ${ks}.inbox_index (user_id, event_key, position) VALUES (?, ?, ?)`,
    getInboxRow: `SELECT event_key FROM ${ks}.inbox WHERE user_id = ? AND bucket = ? AND position = ?`,
    insertInbox: `INSERT INTO ${ks}.inbox (user_id, bucket, position, event_key, event) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS`,
    readInbox: `SELECT position, event_key, event FROM ${ks}.inbox WHERE user_id = ? AND bucket = ? AND position >= ? AND position <= ?`,
    maxPositionInBucket: `SELECT position FROM ${ks}.inbox WHERE user_id = ? AND bucket = ? ORDER BY position DESC LIMIT 1`,
    getInboxHead: `SELECT bucket FROM ${ks}.inbox_heads WHERE user_id = ?`,
    getInboxMarks: `SELECT chat_id, messages_upto, delivered_upto, read_upto FROM ${ks}.inbox_marks WHERE user_id = ?`,
    raiseInboxMark: {
      messages: `UPDATE ${ks}.inbox_marks USING TIMESTAMP ? SET messages_upto = ? WHERE user_id = ? AND chat_id = ?`,
      delivered: `UPDATE ${ks}.inbox_marks USING TIMESTAMP ? SET delivered_upto = ? WHERE user_id = ? AND chat_id = ?`,
      read: `UPDATE ${ks}.inbox_marks USING TIMESTAMP ? SET read_upto = ? WHERE user_id = ? AND chat_id = ?`,
    } satisfies Record<keyof InboxMark, string>,
    setInboxHead: `UPDATE ${ks}.inbox_heads USING TIMESTAMP ? SET bucket = ? WHERE user_id = ?`,
  };
}
