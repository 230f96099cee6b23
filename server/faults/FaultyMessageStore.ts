import type { Timers } from '../ports/Clock.ts';
import type {
  AppendInput, AppendResult, ChatPage, CursorAdvance, CursorKind, InboxEvent, InboxMark, InboxPage, MessageStore, StoredMessage, TickState, UserCursors,
} from '../ports/MessageStore.ts';
import { BackendUnavailable, FaultWindows, type EndWindow } from './FaultWindows.ts';

/**
 * How long a call to a store that is down takes to fail, in ms: a driver learns of a dead node
 * from a refused connection in a few ms, not at once. It also keeps callers that retry at once
 * (the in-memory inbound queue hands a failed entry straight out again) from spinning.
 */
export const STORE_OUTAGE_FAIL_AFTER_MS = 10;

/**
 * Fault injection: a MessageStore that can be down or slow for a window (the `store-outage` and
 * `slow-store` faults). While an outage window is open every call fails with BackendUnavailable
 * after STORE_OUTAGE_FAIL_AFTER_MS, and never reaches the store behind (nothing half-written);
 * while a slow window is open every call waits the window's latency (the largest of the open
 * ones) before it runs. A call decides when it starts: one already under way when a window
 * opens finishes normally. Outside windows every call passes straight through, so the wrapper
 * is always in place and a run without these faults is unchanged.
 */
export class FaultyMessageStore implements MessageStore {
  private readonly outages = new FaultWindows();
  private readonly slowdowns = new FaultWindows();
  /** Calls failed by an outage, and calls delayed by a slow window (for tests and logs). */
  readonly stats = { failed: 0, delayed: 0 };

  constructor(private readonly inner: MessageStore, private readonly timers: Timers) {}

  /** The store is down until the returned function is called. */
  startOutage(): EndWindow {
    return this.outages.start(1);
  }

  /** Every call takes `latencyMs` more until the returned function is called. */
  startSlowdown(latencyMs: number): EndWindow {
    if (!(Number.isInteger(latencyMs) && latencyMs > 0)) throw new Error(`a store slowdown is whole ms above 0, got ${latencyMs}`);
    return this.slowdowns.start(latencyMs);
  }

  get epoch(): string {
    return this.inner.epoch;
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (this.outages.active) {
      this.stats.failed++;
      await this.sleep(STORE_OUTAGE_FAIL_AFTER_MS);
      throw new BackendUnavailable('the message store');
    }
    const latencyMs = this.slowdowns.strongest();
    if (latencyMs > 0) {
      this.stats.delayed++;
      await this.sleep(latencyMs);
    }
    return op();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => { this.timers.schedule(ms, resolve); });
  }

  append(input: AppendInput): Promise<AppendResult> {
    return this.call(() => this.inner.append(input));
  }

  findSend(chatId: string, senderId: string, clientMsgId: string): Promise<StoredMessage | undefined> {
    return this.call(() => this.inner.findSend(chatId, senderId, clientMsgId));
  }

  readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    return this.call(() => this.inner.readChat(chatId, afterSeq, limit));
  }

  headSeq(chatId: string): Promise<number> {
    return this.call(() => this.inner.headSeq(chatId));
  }

  reaches(chatId: string, seq: number): Promise<boolean> {
    return this.call(() => this.inner.reaches(chatId, seq));
  }

  advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance> {
    return this.call(() => this.inner.advanceCursor(chatId, userId, kind, upTo));
  }

  getCursors(chatId: string): Promise<Map<string, UserCursors>> {
    return this.call(() => this.inner.getCursors(chatId));
  }

  raiseAnnounced(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<void> {
    return this.call(() => this.inner.raiseAnnounced(chatId, userId, kind, upTo));
  }

  tickState(chatId: string): Promise<TickState> {
    return this.call(() => this.inner.tickState(chatId));
  }

  appendInbox(userId: string, eventKey: string, event: InboxEvent): Promise<number> {
    return this.call(() => this.inner.appendInbox(userId, eventKey, event));
  }

  readInbox(userId: string, afterPosition: number, limit: number): Promise<InboxPage> {
    return this.call(() => this.inner.readInbox(userId, afterPosition, limit));
  }

  getInboxMarks(userId: string): Promise<Map<string, InboxMark>> {
    return this.call(() => this.inner.getInboxMarks(userId));
  }

  raiseInboxMark(userId: string, chatId: string, mark: InboxMark): Promise<void> {
    return this.call(() => this.inner.raiseInboxMark(userId, chatId, mark));
  }
}
