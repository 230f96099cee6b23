import type { MessageStore } from '../../server/ports/MessageStore.ts';

const PAGE_MESSAGES_MAX = 1000;

/** Store ground truth: chat -> seq -> the clientMsgId stored under it. */
export type PersistedMessages = Map<string, Map<number, string>>;

/**
 * Store ground truth for B2 (sent implies persisted): what the message store holds for each
 * chat after the run, read page by page. Only possible when chatsim started the cluster itself
 * (with `--target` the store is not ours to read).
 */
export async function readPersisted(store: MessageStore, chatIds: Iterable<string>): Promise<PersistedMessages> {
  const persisted: PersistedMessages = new Map();
  for (const chatId of chatIds) {
    const bySeq = new Map<number, string>();
    let afterSeq = 0;
    for (;;) {
      const page = await store.readChat(chatId, afterSeq, PAGE_MESSAGES_MAX);
      for (const m of page.messages) bySeq.set(m.seq, m.clientMsgId);
      if (!page.hasMore || page.messages.length === 0) break;
      afterSeq = page.messages[page.messages.length - 1]!.seq;
    }
    persisted.set(chatId, bySeq);
  }
  return persisted;
}
