import type { ChatPage, CursorAdvance, CursorKind, StoredMessage } from '../ports/MessageStore.ts';
import { PassThroughMessageStore } from './PassThroughMessageStore.ts';
import type { ServerBug } from './ServerBug.ts';

/**
 * Bug 'read-rewrites-message' as a store wrapper: a read lands on the message row instead of
 * the read cursor. The read cursor stays where it was (so no read tick ever moves), and the
 * message at `upTo` reads back with a marker on its body. The port has no way to rewrite a
 * row, so the rewritten bodies live in the wrapper: every reader in the process that holds it
 * sees them (the whole in-process cluster; on a multi-process cluster the chat server that
 * took the read).
 */
export class ReadRewritesMessageStore extends PassThroughMessageStore {
  /** chat -> seq -> the readers marked on that row, in order. */
  private readonly rewrites = new Map<string, Map<number, string[]>>();

  override async advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance> {
    if (kind !== 'read') return this.inner.advanceCursor(chatId, userId, kind, upTo);
    const row = (await this.inner.readChat(chatId, upTo - 1, 1)).messages.find((m) => m.seq === upTo);
    if (row && row.senderId !== userId) {
      const rows = this.rewrites.get(chatId) ?? new Map<number, string[]>();
      this.rewrites.set(chatId, rows);
      const readers = rows.get(upTo) ?? [];
      if (readers.at(-1) !== userId) rows.set(upTo, [...readers, userId]);
    }
    const before = (await this.inner.getCursors(chatId)).get(userId)?.read ?? 0;
    return { before, after: before };
  }

  override async readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    const page = await this.inner.readChat(chatId, afterSeq, limit);
    const rows = this.rewrites.get(chatId);
    return rows ? { ...page, messages: page.messages.map((m) => rewritten(m, rows.get(m.seq))) } : page;
  }
}

function rewritten(message: StoredMessage, readers: readonly string[] | undefined): StoredMessage {
  return readers ? { ...message, body: message.body + readers.map((r) => ` [read by ${r}]`).join('') } : message;
}

export const readRewritesMessage: ServerBug = {
  entry: {
    name: 'read-rewrites-message', where: 'server', breaks: ['B5', 'B7'],
    description: 'A read (standalone or piggybacked) rewrites the message row at upTo, appending " [read by <reader>]" to its body, instead of moving the read cursor: senders never get a read tick (B5, B7 when the read rode on a typing frame). Syncs served where the read was taken also return a changed body for the same seq, which no checker sees: histories record ids, not bodies.',
  },
  store: (store) => new ReadRewritesMessageStore(store),
};
