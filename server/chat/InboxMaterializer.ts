import type { ChatRecord, Directory } from '../ports/Directory.ts';
import type { InboxMark, MessageStore } from '../ports/MessageStore.ts';
import { ticksOf } from './chatTicks.ts';

export interface InboxMaterializerDeps {
  store: MessageStore;
  directory: Directory;
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
 * message in seq order, then, if the user has sent anything in the chat, one `receipt` event per
 * tick kind that moved past the mark, carrying the current aggregate (ticks are cumulative, so
 * the intermediate ones add nothing) capped at the last message copied, so a receipt never
 * comes before the messages it covers; then it raises the mark. Event keys are those of the
 * eager scheme (`m:<chat>:<seq>`, `r:<chat>:<kind>:<upTo>`), so a fill cut short by a crash, or
 * two fills at once (two devices), place each event once (appendInbox is idempotent per key; the
 * contract's cross-process caveat still applies and readers ignore a repeated key). Events are
 * appended after what is already in the inbox: an event's position is when it was copied, not
 * when it happened, and a token still chains (every event up to the fill is at or before the
 * token returned with it). A member being removed gets the chat filled up to the removal first
 * (server/http/chatRoutes.ts), since later fills no longer see the chat.
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
      if (budget <= 0) {
        complete = false; // this chat's state is unknown: a later call reads it
        continue;
      }
      const copied = await this.fillChat(chat, userId, marks.get(chatId), budget);
      budget -= copied.messages;
      complete &&= copied.complete;
    }
    return complete;
  }

  /**
   * Copies one chat for a member, at most `messagesMax` messages (the mark is read when not
   * given). Used by `fill` and when a member is removed.
   */
  async fillChat(chat: ChatRecord, userId: string, known: InboxMark | undefined, messagesMax: number): Promise<{ messages: number; complete: boolean }> {
    const mark = known ?? (await this.deps.store.getInboxMarks(userId)).get(chat.id) ?? { messages: 0, delivered: 0, read: 0 };
    const from = Math.max(mark.messages, chat.members.get(userId) ?? 0);
    const page = await this.deps.store.readChat(chat.id, from, messagesMax);
    for (const message of page.messages) {
      await this.deps.store.appendInbox(userId, `m:${chat.id}:${message.seq}`, { kind: 'message', message });
    }
    const raised: InboxMark = { messages: page.messages.at(-1)?.seq ?? mark.messages, delivered: mark.delivered, read: mark.read };
    const { cursors, lastSeqBySender, announced } = await this.deps.store.tickState(chat.id);
    // Receipts only to a member who has sent something above the tick last copied, as live.
    const lastSent = lastSeqBySender.get(userId) ?? 0;
    for (const tick of lastSent > 0 ? ticksOf(chat, userId, cursors, announced.get(userId)) : []) {
      const upTo = Math.min(tick.upTo, raised.messages);
      if (upTo <= mark[tick.kind] || lastSent <= mark[tick.kind]) continue;
      await this.deps.store.appendInbox(userId, `r:${chat.id}:${tick.kind}:${upTo}`, {
        kind: 'receipt', chatId: chat.id, userId: tick.user, cursor: tick.kind, upTo,
      });
      raised[tick.kind] = upTo;
    }
    if (raised.messages > mark.messages || raised.delivered > mark.delivered || raised.read > mark.read) {
      await this.deps.store.raiseInboxMark(userId, chat.id, raised);
    }
    return { messages: page.messages.length, complete: !page.hasMore };
  }
}
