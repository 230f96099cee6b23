import type { Clock } from '../ports/Clock.ts';
import type {
  AppendInput, AppendResult, ChatPage, CursorAdvance, CursorKind, InboxEvent, InboxMark, InboxPage, MessageStore, StoredMessage, TickState, UserCursors,
} from '../ports/MessageStore.ts';
import type { Metrics } from '../ports/Metrics.ts';
import { storeInstruments } from './instruments.ts';

/**
 * A MessageStore that times every call on the injected clock into
 * `chatsim_store_operation_seconds{operation, outcome}` and otherwise passes it through
 * unchanged (same results, same errors), so it keeps the contract of the store it wraps.
 */
export class MeasuredMessageStore implements MessageStore {
  private readonly latency;

  constructor(private readonly inner: MessageStore, private readonly clock: Clock, metrics: Metrics) {
    this.latency = storeInstruments(metrics).latency;
  }

  get epoch(): string {
    return this.inner.epoch;
  }

  append(input: AppendInput): Promise<AppendResult> { return this.timed('append', () => this.inner.append(input)); }
  findSend(chatId: string, senderId: string, clientMsgId: string): Promise<StoredMessage | undefined> { return this.timed('findSend', () => this.inner.findSend(chatId, senderId, clientMsgId)); }
  readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> { return this.timed('readChat', () => this.inner.readChat(chatId, afterSeq, limit)); }
  headSeq(chatId: string): Promise<number> { return this.timed('headSeq', () => this.inner.headSeq(chatId)); }
  reaches(chatId: string, seq: number): Promise<boolean> { return this.timed('reaches', () => this.inner.reaches(chatId, seq)); }
  advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance> { return this.timed('advanceCursor', () => this.inner.advanceCursor(chatId, userId, kind, upTo)); }
  getCursors(chatId: string): Promise<Map<string, UserCursors>> { return this.timed('getCursors', () => this.inner.getCursors(chatId)); }
  tickState(chatId: string): Promise<TickState> { return this.timed('tickState', () => this.inner.tickState(chatId)); }
  raiseAnnounced(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<void> { return this.timed('raiseAnnounced', () => this.inner.raiseAnnounced(chatId, userId, kind, upTo)); }
  appendInbox(userId: string, eventKey: string, event: InboxEvent): Promise<number> { return this.timed('appendInbox', () => this.inner.appendInbox(userId, eventKey, event)); }
  readInbox(userId: string, afterPosition: number, limit: number): Promise<InboxPage> { return this.timed('readInbox', () => this.inner.readInbox(userId, afterPosition, limit)); }
  getInboxMarks(userId: string): Promise<Map<string, InboxMark>> { return this.timed('getInboxMarks', () => this.inner.getInboxMarks(userId)); }
  raiseInboxMark(userId: string, chatId: string, mark: InboxMark): Promise<void> { return this.timed('raiseInboxMark', () => this.inner.raiseInboxMark(userId, chatId, mark)); }

  private async timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const startedMs = this.clock.nowMs();
    try {
      const result = await call();
      this.latency.observe({ operation, outcome: 'ok' }, (this.clock.nowMs() - startedMs) / 1000);
      return result;
    } catch (error) {
      this.latency.observe({ operation, outcome: 'error' }, (this.clock.nowMs() - startedMs) / 1000);
      throw error;
    }
  }
}
