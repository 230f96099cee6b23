// The phone's local database, like a chat app's SQLite: the outbox of its own messages with
// their ticks, the per-chat timelines, and the sync positions. Pure data, no I/O, no time.

/** Tick state of an own message, in the order it may only move forward. */
export type TickState = 'pending' | 'sent' | 'delivered' | 'read';

const TICK_ORDER: Record<TickState, number> = { pending: 0, sent: 1, delivered: 2, read: 3 };

/** True when `next` is strictly ahead of `current` (ticks never go back). */
export function tickAhead(next: TickState, current: TickState): boolean {
  return TICK_ORDER[next] > TICK_ORDER[current];
}

/** One own message, from `send()` until it is read (or failed). */
export interface OutboxEntry {
  chat: string;
  clientMsgId: string;
  body: string;
  /** When the user pressed send (phone clock); the start of every send latency. */
  createdMs: number;
  /** The same moment on the phone's wall clock, as the screen shows it (skewed or jumped clocks show here only). */
  shownAtMs?: number;
  state: TickState;
  seq?: number;
  msgId?: string;
  /** Transmissions so far; the retry backoff grows with it. */
  attempts: number;
}

/** What the timeline needs of a message to place and render it. */
export interface TimelineMessage {
  chat: string;
  seq: number;
  from: string;
  fromDevice: string;
  clientMsgId: string;
  ts: number;
}

/** Result of offering a message to a timeline. */
export type PlaceResult = 'duplicate' | 'ready' | 'gap';

/**
 * One chat's timeline. Holds only what deduplication and in-order rendering need: the
 * watermark (highest seq up to which every message is held and rendered) and the messages
 * buffered above a gap. Everything at or below the watermark is a duplicate by definition,
 * so rendered messages need not be kept: memory stays flat over a long run.
 */
export class ChatTimeline {
  watermark = 0;
  private readonly buffered = new Map<number, TimelineMessage>();

  constructor(readonly chat: string) {}

  /** Offers a message; `ready` means it (and maybe buffered ones) can now be rendered. */
  place(message: TimelineMessage): PlaceResult {
    if (message.seq <= this.watermark || this.buffered.has(message.seq)) return 'duplicate';
    this.buffered.set(message.seq, message);
    return message.seq === this.watermark + 1 ? 'ready' : 'gap';
  }

  /** Removes and returns the contiguous run above the watermark, advancing it. */
  takeReady(): TimelineMessage[] {
    const ready: TimelineMessage[] = [];
    for (;;) {
      const next = this.buffered.get(this.watermark + 1);
      if (!next) return ready;
      this.buffered.delete(next.seq);
      this.watermark = next.seq;
      ready.push(next);
    }
  }

  /**
   * The chat begins for this user after `seq` (a member who joined later: the server owes it
   * nothing at or below its join). Moves an empty start up; never moves a watermark back.
   */
  startAfter(seq: number): void {
    if (seq <= this.watermark) return;
    this.watermark = seq;
    for (const held of [...this.buffered.keys()]) if (held <= seq) this.buffered.delete(held);
  }

  /** True while messages wait above a hole. */
  hasGap(): boolean {
    return this.buffered.size > 0;
  }
}

/** The highest tick cursors the server reported for the phone's own messages in one chat. */
export interface ReceiptCursors {
  delivered: number;
  read: number;
}

export class LocalStore {
  /** Own messages not yet read (or failed), by clientMsgId, in send order. */
  readonly outbox = new Map<string, OutboxEntry>();
  private readonly timelines = new Map<string, ChatTimeline>();
  private readonly cursors = new Map<string, ReceiptCursors>();
  /** The store epoch the watermarks belong to, from the last sync_result. */
  epoch: string | undefined;

  constructor(chats: Iterable<string>) {
    for (const chat of chats) this.timeline(chat);
  }

  timeline(chat: string): ChatTimeline {
    let timeline = this.timelines.get(chat);
    if (!timeline) this.timelines.set(chat, (timeline = new ChatTimeline(chat)));
    return timeline;
  }

  /**
   * The server's store was reset (SYNC_RESET: our epoch is gone): every position we hold
   * belongs to the old epoch, so start over from seq 0 in every chat, as the protocol asks.
   */
  resetPositions(): void {
    for (const chat of this.timelines.keys()) this.timelines.set(chat, new ChatTimeline(chat));
    this.cursors.clear();
    this.epoch = undefined;
  }

  chats(): string[] {
    return [...this.timelines.keys()];
  }

  /**
   * Bug 'fresh-install-stale-watermark' only: a fresh install restored from another device's
   * backup starts with that device's watermarks but none of its messages.
   */
  restoreWatermarks(marks: Record<string, number>): void {
    for (const [chat, seq] of Object.entries(marks)) this.timeline(chat).watermark = seq;
  }

  /** The watermark sync request: chat -> highest contiguous seq held. */
  watermarks(): Record<string, number> {
    const marks: Record<string, number> = {};
    for (const [chat, timeline] of this.timelines) marks[chat] = timeline.watermark;
    return marks;
  }

  receiptCursors(chat: string): ReceiptCursors {
    let cursors = this.cursors.get(chat);
    if (!cursors) this.cursors.set(chat, (cursors = { delivered: 0, read: 0 }));
    return cursors;
  }

  /** Raises a cursor (read implies delivered); returns false if nothing moved. */
  raiseCursor(chat: string, kind: 'delivered' | 'read', upTo: number): boolean {
    const cursors = this.receiptCursors(chat);
    let moved = false;
    if (upTo > cursors.delivered) { cursors.delivered = upTo; moved = true; }
    if (kind === 'read' && upTo > cursors.read) { cursors.read = upTo; moved = true; }
    return moved;
  }

  /** The tick the cursors give an own message at `seq`. */
  tickFromCursors(chat: string, seq: number): TickState {
    const cursors = this.receiptCursors(chat);
    if (cursors.read >= seq) return 'read';
    if (cursors.delivered >= seq) return 'delivered';
    return 'sent';
  }

  pending(): OutboxEntry[] {
    return [...this.outbox.values()].filter((entry) => entry.state === 'pending');
  }

  /** Outbox entries of a chat that have a seq, i.e. that receipts can tick. */
  sentIn(chat: string): OutboxEntry[] {
    return [...this.outbox.values()].filter((entry) => entry.chat === chat && entry.seq !== undefined);
  }
}
