import type { ChatRecord, Directory } from '../ports/Directory.ts';
import type { MessageStore } from '../ports/MessageStore.ts';
import type { InboundEnvelope } from '../protocol/envelopes.ts';
import { ERROR_CODES } from '../protocol/errorCodes.ts';
import type { ReceiptFrame, SyncChatResult, SyncFrame } from '../protocol/frames.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import { ticksOf } from './chatTicks.ts';
import { FrameRejected } from './FrameRejected.ts';
import type { InboxMaterializer } from './InboxMaterializer.ts';
import { eventsThatFit, fitWatermarkResult } from './syncPages.ts';
import { decodeSyncToken, encodeSyncToken } from './syncTokens.ts';
import { toMessageFrame } from './toMessageFrame.ts';

export interface SyncHandlerDeps {
  store: MessageStore;
  directory: Directory;
  limits: ServerLimits;
  inbox: InboxMaterializer;
  /** Sends a frame back to the connection the request came from. */
  reply(env: InboundEnvelope, frame: object): Promise<void>;
}

/**
 * The chat server's `sync` frames: by watermark (per chat, the last seq the device holds) or by
 * token (a position in the user's inbox, docs/protocol.md). Reads only; a refusal is thrown as
 * FrameRejected.
 */
export class SyncHandler {
  constructor(private readonly deps: SyncHandlerDeps) {}

  async watermark(env: InboundEnvelope, frame: SyncFrame): Promise<void> {
    this.checkEpoch(frame.epoch, frame.id);
    const given = frame.chats ?? {};
    const memberOf = await this.deps.directory.chatsOf(env.user);
    // Chats the client did not list start from 0, so a new chat is never missed; a client paging
    // over more chats than one frame may list asks for the listed ones only (listedOnly).
    const asked = frame.listedOnly ? memberOf.filter((c) => Object.hasOwn(given, c)) : memberOf;
    const wanted = new Map<string, number>(asked.map((c) => [c, Object.hasOwn(given, c) ? given[c]! : 0]));
    let budget = this.deps.limits.syncMessagesMax;
    // Once the messages read pass the byte limit, later chats are read for their head only: the
    // cut below would drop their messages anyway.
    let bytesRead = 0;
    const results: SyncChatResult[] = [];
    for (const [chatId, afterSeq] of wanted) {
      const limit = bytesRead > this.deps.limits.syncResultBytesMax ? 0 : Math.max(0, budget);
      const page = await this.deps.store.readChat(chatId, afterSeq, limit);
      budget -= page.messages.length;
      const messages = page.messages.map(toMessageFrame);
      for (const m of messages) bytesRead += m.body.length;
      // A chat with no message has no tick to report: a cursor is only ever written up to the
      // head (CURSOR_AHEAD otherwise), and the head was 0 when this read began. So its tick
      // state (a cursor_marks partition read) and its record are not read: at a ramp or a
      // reconnect storm most chats a phone syncs are still empty.
      const chat = page.headSeq > 0 ? await this.deps.directory.getChat(chatId) : undefined;
      const receipts = chat ? await this.currentTicks(chat, env.user) : [];
      results.push({ chat: chatId, messages, head: page.headSeq, hasMore: page.hasMore, receipts });
    }
    const result = { type: 'sync_result' as const, ref: frame.id, epoch: this.deps.store.epoch, hasMore: results.some((r) => r.hasMore), chats: results };
    await this.deps.reply(env, fitWatermarkResult(result, this.deps.limits.syncResultBytesMax));
  }

  /** The ticks a user sees on their own messages in a chat, for converging after a reconnect (never below what they were told). */
  private async currentTicks(chat: ChatRecord, user: string): Promise<ReceiptFrame[]> {
    const { cursors, announced } = await this.deps.store.tickState(chat.id);
    return ticksOf(chat, user, cursors, announced.get(user));
  }

  async token(env: InboundEnvelope, frame: SyncFrame): Promise<void> {
    // An empty token asks for the whole inbox of the current epoch: how a client gets its first token.
    const decoded = frame.token === '' ? { epoch: this.deps.store.epoch, position: 0 } : decodeSyncToken(frame.token ?? '');
    if (!decoded) throw new FrameRejected('INVALID_FIELD', 'token: not a sync token', frame.id);
    this.checkEpoch(decoded.epoch, frame.id);
    // Copy what is new in the user's chats first (one page of messages at most; the rest is
    // copied by the next call, which `hasMore` asks for).
    const filled = await this.deps.inbox.fill(env.user, this.deps.limits.syncEventsMax);
    const page = await this.deps.store.readInbox(env.user, decoded.position, this.deps.limits.syncEventsMax);
    const epoch = this.deps.store.epoch;
    // Cut to the byte limit; the token of the page's last event is the longest one it can carry.
    const longest = { type: 'sync_result', ref: frame.id, epoch, hasMore: false, events: [], token: encodeSyncToken(epoch, page.events.at(-1)?.position ?? decoded.position) };
    const events = page.events.slice(0, eventsThatFit(longest, page.events, this.deps.limits.syncResultBytesMax));
    const last = events.at(-1)?.position ?? decoded.position;
    await this.deps.reply(env, {
      type: 'sync_result', ref: frame.id, epoch, hasMore: page.hasMore || !filled || events.length < page.events.length,
      events, token: encodeSyncToken(epoch, last),
    });
  }

  private checkEpoch(epoch: string | undefined, ref: string): void {
    if (epoch !== undefined && epoch !== this.deps.store.epoch) throw new FrameRejected('SYNC_RESET', ERROR_CODES.SYNC_RESET.text, ref);
  }
}
