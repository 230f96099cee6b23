import type { AppendInput, AppendResult, ChatPage, StoredMessage } from '../ports/MessageStore.ts';
import { PassThroughMessageStore } from './PassThroughMessageStore.ts';
import type { ServerBug } from './ServerBug.ts';

/**
 * Marks a stored retry's clientMsgId so the store behind takes it as new. A unit separator
 * and a number: readers strip it, so the copy reads back with the id the client sent.
 */
const RETRY_MARK = '\u001fretry-';

/** Most copies of one clientMsgId the bug stores; past them it gives up and dedupes after all. */
const RETRY_COPIES_MAX = 1_000;

/**
 * Bug 'no-dedupe' as a store wrapper: a clientMsgId the store already holds is stored again
 * under a new seq (the store's own idempotency check answered "exists"; the wrapper appends a
 * marked copy instead of returning the original). Reads hide the mark, in every process that
 * reads through the wrapper.
 */
export class NoDedupeStore extends PassThroughMessageStore {
  override async append(input: AppendInput): Promise<AppendResult> {
    let result = await this.inner.append(input);
    for (let copy = 1; !result.created && copy <= RETRY_COPIES_MAX; copy++) {
      result = await this.inner.append({ ...input, clientMsgId: `${input.clientMsgId}${RETRY_MARK}${copy}` });
    }
    return { ...result, message: unmarked(result.message) };
  }

  override async readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    const page = await this.inner.readChat(chatId, afterSeq, limit);
    return { ...page, messages: page.messages.map(unmarked) };
  }
}

function unmarked(message: StoredMessage): StoredMessage {
  const at = message.clientMsgId.indexOf(RETRY_MARK);
  return at < 0 ? message : { ...message, clientMsgId: message.clientMsgId.slice(0, at) };
}

export const noDedupe: ServerBug = {
  entry: {
    name: 'no-dedupe', where: 'server', breaks: ['A4'],
    description: 'The message store skips its idempotency check: a retried clientMsgId is stored again under a new seq and acked with it, instead of returning the original.',
  },
  store: (store) => new NoDedupeStore(store),
};
