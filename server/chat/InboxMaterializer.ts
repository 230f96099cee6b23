import type { Directory } from '../ports/Directory.ts';
import type { InboxMark, MessageStore } from '../ports/MessageStore.ts';
import type { ReceiptFrame } from '../protocol/frames.ts';
import type { ChatRecord } from '../ports/Directory.ts';

export interface InboxMaterializerDeps {
  store: MessageStore;
  directory: Directory;
  /** The aggregate ticks `user` sees on their own messages in `chat` (what a watermark sync returns). */
  ticksOf(chat: ChatRecord, user: string): Promise<ReceiptFrame[]>;
}

/**
 * Fills a user's inbox (the sync-token timeline) from their chats when it is read: fan-out on
 * read instead of on write.
 *
 * Why: written eagerly, every message cost one inbox event per member and every tick one per
 * sender, each a lightweight transaction on Cassandra (a 20-member group message: 20), and
 * clients that sync by per-chat watermarks (the design's standard mode, and every simulated
 * phone) never read them. Filled here, a message costs nothing until somebody syncs by token,
 * and then one event per message and per tick that moved since the last fill.
 *
 * How: the store keeps, per user and chat, how far the chat was copied (InboxMark). A fill reads
 * each chat after its mark (never before the user joined), appends one `message` event per
 * message in seq order and one `receipt` event per tick kind that moved past the mark (the
 * current aggregate: ticks are cumulative, so the intermediate ones add nothing), then raises
 * the mark. Event keys are those of the eager scheme (`m:<chat>:<seq>`, `r:<chat>:<kind>:<upTo>`),
 * so a fill cut short by a crash, or two fills at once (two devices), place each event once
 * (appendInbox is idempotent per key; the contract's cross-process caveat still applies and
 * readers ignore a repeated key). Events are appended after what is already in the inbox: an
 * event's position is when it was copied, not when it happened, and a token still chains (every
 * event up to the fill is at or before the token returned with it).
 *
 * Notices that have no chat log to be read from (member added or removed, chat renamed,
 * profile changed) are still appended when they happen (server/http/inbox.ts).
 */
export class InboxMaterializer {
  constructor(private readonly deps: InboxMaterializerDeps) {}

  /**
   * Copies what is new in the user's chats into their inbox, at most `messagesMax` message
   * events in this call. Returns false when messages were left for a later call.
   */
  async fill(userId: string, messagesMax: number): Promise<boolean> {
    const [chatIds, marks] = await Promise.all([this.deps.directory.chatsOf(userId), this.deps.store.getInboxMarks(userId)]);
    let budget = messagesMax;
    let complete = true;
    for (const chatId of chatIds) {
      const chat = await this.deps.directory.getChat(chatId);
      if (!chat || !chat.members.has(userId)) continue;
      const mark = marks.get(chatId) ?? { messages: 0, delivered: 0, read: 0 };
      const copied = await this.fillChat(chat, userId, mark, budget);
      budget -= copied.messages;
      complete &&= copied.complete;
    }
    return complete;
  }

  private async fillChat(chat: ChatRecord, userId: string, mark: InboxMark, budget: number): Promise<{ messages: number; complete: boolean }> {
    const from = Math.max(mark.messages, chat.members.get(userId) ?? 0);
    const page = budget > 0 ? await this.deps.store.readChat(chat.id, from, budget) : undefined;
    const messages = page?.messages ?? [];
    for (const message of messages) {
      await this.deps.store.appendInbox(userId, `m:${chat.id}:${message.seq}`, { kind: 'message', message });
    }
    const raised: InboxMark = { messages: messages.at(-1)?.seq ?? mark.messages, delivered: mark.delivered, read: mark.read };
    for (const tick of await this.deps.ticksOf(chat, userId)) {
      if (tick.upTo <= mark[tick.kind]) continue;
      await this.deps.store.appendInbox(userId, `r:${chat.id}:${tick.kind}:${tick.upTo}`, {
        kind: 'receipt', chatId: chat.id, userId: tick.user, cursor: tick.kind, upTo: tick.upTo,
      });
      raised[tick.kind] = tick.upTo;
    }
    if (raised.messages > mark.messages || raised.delivered > mark.delivered || raised.read > mark.read) {
      await this.deps.store.raiseInboxMark(userId, chat.id, raised);
    }
    // Without a page (budget spent) the chat's state is unknown: say incomplete, a later call reads it.
    return { messages: messages.length, complete: page !== undefined && !page.hasMore };
  }
}
