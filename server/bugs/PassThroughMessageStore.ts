import type {
  AppendInput, AppendResult, ChatPage, CursorAdvance, CursorKind, InboxEvent, InboxMark, InboxPage, MessageStore, StoredMessage, TickState, UserCursors,
} from '../ports/MessageStore.ts';

/**
 * A MessageStore that hands every call to `inner`: the base of the store bugs, each of which
 * overrides only the call it breaks. Works around any store (memory, Cassandra).
 */
export class PassThroughMessageStore implements MessageStore {
  constructor(protected readonly inner: MessageStore) {}

  get epoch(): string {
    return this.inner.epoch;
  }

  append(input: AppendInput): Promise<AppendResult> {
    return this.inner.append(input);
  }

  findSend(chatId: string, senderId: string, clientMsgId: string): Promise<StoredMessage | undefined> {
    return this.inner.findSend(chatId, senderId, clientMsgId);
  }

  readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    return this.inner.readChat(chatId, afterSeq, limit);
  }

  headSeq(chatId: string): Promise<number> {
    return this.inner.headSeq(chatId);
  }

  reaches(chatId: string, seq: number): Promise<boolean> {
    return this.inner.reaches(chatId, seq);
  }

  advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance> {
    return this.inner.advanceCursor(chatId, userId, kind, upTo);
  }

  getCursors(chatId: string): Promise<Map<string, UserCursors>> {
    return this.inner.getCursors(chatId);
  }

  tickState(chatId: string): Promise<TickState> {
    return this.inner.tickState(chatId);
  }

  raiseAnnounced(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<void> {
    return this.inner.raiseAnnounced(chatId, userId, kind, upTo);
  }

  appendInbox(userId: string, eventKey: string, event: InboxEvent): Promise<number> {
    return this.inner.appendInbox(userId, eventKey, event);
  }

  readInbox(userId: string, afterPosition: number, limit: number): Promise<InboxPage> {
    return this.inner.readInbox(userId, afterPosition, limit);
  }

  getInboxMarks(userId: string): Promise<Map<string, InboxMark>> {
    return this.inner.getInboxMarks(userId);
  }

  raiseInboxMark(userId: string, chatId: string, mark: InboxMark): Promise<void> {
    return this.inner.raiseInboxMark(userId, chatId, mark);
  }
}
