import type { ChatPage } from '../ports/MessageStore.ts';
import { PassThroughMessageStore } from './PassThroughMessageStore.ts';
import type { ServerBug } from './ServerBug.ts';

/** Bug 'sync-off-by-one' as a store wrapper: the exclusive bound of a chat read is moved one further. */
export class OffByOneChatReads extends PassThroughMessageStore {
  override readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    return this.inner.readChat(chatId, afterSeq + 1, limit);
  }
}

export const syncOffByOne: ServerBug = {
  entry: {
    name: 'sync-off-by-one', where: 'server', breaks: ['C1', 'A3', 'A5'],
    description: 'A chat server reads a chat from one past the position asked: watermark sync skips the first message after the watermark (and the inbox a token sync reads skips it too).',
  },
  chatServer: (parts) => ({ ...parts, store: new OffByOneChatReads(parts.store) }),
};
