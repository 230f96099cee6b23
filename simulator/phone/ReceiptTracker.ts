// Receipts out: the delivery acks and read receipts this phone owes for messages it rendered,
// debounced, piggybacked on typing, and repeated whenever the server may not have seen them.
// Every receipt-timing fix lives here.
import type { TimerHandle } from '../../server/ports/Clock.ts';
import type { PhoneCore } from './PhoneCore.ts';

export class ReceiptTracker {
  private readonly ackTimers = new Map<string, TimerHandle>();
  private readonly readTimers = new Map<string, TimerHandle>();
  /** For each pending read timer: when it is due and what it does (see sendOverdueRead). */
  private readonly readDue = new Map<string, { dueMs: number; fire: () => void }>();
  /** Highest ack / read upTo sent per chat (read implies delivered, so it raises both). */
  private readonly ackSent = new Map<string, number>();
  private readonly readSent = new Map<string, number>();
  /** Chats whose receipts went out on the current link: the server may not have seen them. */
  private readonly receiptsOnLink = new Set<string>();
  /** Chats whose receipts may never have reached the server (a lost link, a refusal). */
  private readonly unconfirmed = new Set<string>();
  /** Highest rendered seq per chat written by someone else: only those need our receipts. */
  private readonly othersUpTo = new Map<string, number>();
  private readonly typingSentMs = new Map<string, number>();
  /** Repeats receipts refused without a ref (see refused); the attempt grows its backoff. */
  private retryTimer: TimerHandle | undefined;
  private retryAttempt = 0;

  constructor(private readonly core: PhoneCore) {}

  /** A message from someone else was rendered at `seq`: it needs our receipts. */
  noteRendered(chat: string, seq: number): void {
    this.othersUpTo.set(chat, seq);
  }

  /** Messages from others were rendered in `chat`: ack them, and read them if on screen. */
  owe(chat: string): void {
    this.scheduleAck(chat);
    this.maybeScheduleRead(chat);
  }

  /**
   * The user types in `chat`. A read receipt waiting for its debounce rides on this typing
   * intent instead of its own; without one, typing is throttled per chat. True if one went out.
   */
  typing(chat: string): boolean {
    const { core } = this;
    if (core.phase !== 'ready') return false;
    const upTo = core.store.timeline(chat).watermark;
    const pendingRead = this.readTimers.get(chat);
    if (pendingRead && core.isVisible(chat) && this.hasUnreported(chat, this.readSent)) {
      pendingRead.cancel();
      this.readTimers.delete(chat);
      // A read timer already due that has not run (a busy event loop): say how late it is, as the timer would.
      const overdueMs = Math.max(0, core.nowMs() - (this.readDue.get(chat)?.dueMs ?? Infinity));
      this.readDue.delete(chat);
      this.noteReadSent(chat, upTo, true, overdueMs); // before the send, as in sendAck
      core.record({ type: 'typing-out', chat });
      core.send({ kind: 'typing', chat, readUpTo: upTo });
      core.config.metrics.increment('receipts.piggybacked');
      this.typingSentMs.set(chat, core.nowMs());
      return true;
    }
    const lastMs = this.typingSentMs.get(chat);
    if (lastMs !== undefined && core.nowMs() - lastMs < core.options.typingThrottleMs) return false;
    core.send({ kind: 'typing', chat });
    core.record({ type: 'typing-out', chat });
    this.typingSentMs.set(chat, core.nowMs());
    return true;
  }

  /** The app goes to the background: overdue reads go out, pending ones are dropped. */
  leaveForeground(): void {
    for (const chat of [...this.readDue.keys()]) this.sendOverdueRead(chat);
  }

  /** After the view changed to the background (see leaveForeground). */
  cancelAllReads(): void {
    for (const timer of this.readTimers.values()) timer.cancel();
    this.readTimers.clear();
    this.readDue.clear();
  }

  /** `chat` leaves the screen: an overdue read goes out, a pending one is dropped. */
  leaveChat(chat: string): void {
    this.sendOverdueRead(chat);
    this.readTimers.get(chat)?.cancel();
    this.readTimers.delete(chat);
    this.readDue.delete(chat);
  }

  /** Debounced read: the first unread visible message starts the window; later ones ride along. */
  maybeScheduleRead(chat: string): void {
    const { core } = this;
    if (!core.isVisible(chat)) return;
    if (!this.hasUnreported(chat, this.readSent)) return;
    if (this.readTimers.has(chat)) {
      core.config.metrics.increment('receipts.savedByDebounce');
      return;
    }
    // Injected bug 'swallow-trailing-receipt': the window reports only the seq that opened it;
    // the messages that rode along are never read-receipted (the trailing receipt is lost).
    const leadingUpTo = core.options.swallowTrailingReceipt ? core.store.timeline(chat).watermark : undefined;
    const dueMs = core.nowMs() + core.options.readDebounceMs;
    const fire = (): void => {
      this.readTimers.delete(chat);
      this.readDue.delete(chat);
      // How late this phone's own timer fired (a busy load generator), so B6 does not blame the server's protocol for it.
      this.sendRead(chat, false, leadingUpTo, Math.max(0, core.nowMs() - dueMs));
    };
    this.readTimers.set(chat, core.timers.schedule(core.options.readDebounceMs, fire));
    this.readDue.set(chat, { dueMs, fire });
  }

  /** The link died: receipts sent on it may never have reached the server. */
  linkLost(): void {
    for (const chat of this.receiptsOnLink) this.unconfirmed.add(chat);
    this.receiptsOnLink.clear();
  }

  /**
   * An intent without a ref was refused with a retryable code: it may have been a receipt, which
   * the server then never saw, and nothing else would ever repeat it (the phone already counts
   * it as sent). Every receipt of this link is repeated after a backoff, or at once when a
   * resync says the gateway is back (see syncRoundDone).
   */
  refused(): void {
    for (const chat of this.receiptsOnLink) this.unconfirmed.add(chat);
    this.receiptsOnLink.clear();
    if (this.retryTimer || this.unconfirmed.size === 0) return;
    this.retryTimer = this.core.timers.schedule(this.core.randomRetryDelayMs(this.retryAttempt++), () => {
      this.retryTimer = undefined;
      if (this.core.phase === 'ready') this.resendUnconfirmed();
    });
  }

  /** A sync round on a ready link is done: refused receipts are repeated now, not after their backoff. */
  syncRoundDone(): void {
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.retryAttempt = 0;
    this.resendUnconfirmed();
  }

  /** After a reconnect: repeat unconfirmed receipts (idempotent) and send those that were skipped. */
  reconcile(): void {
    this.retryAttempt = 0;
    this.resendUnconfirmed();
    for (const chat of this.core.store.chats()) {
      if (this.hasUnreported(chat, this.ackSent)) this.scheduleAck(chat);
      this.maybeScheduleRead(chat);
    }
  }

  /** Start over after an epoch change: receipt state of the old epoch means nothing. */
  reset(): void {
    for (const timers of [this.ackTimers, this.readTimers]) {
      for (const timer of timers.values()) timer.cancel();
      timers.clear();
    }
    this.readDue.clear();
    this.ackSent.clear();
    this.readSent.clear();
    this.othersUpTo.clear();
    this.unconfirmed.clear();
    this.receiptsOnLink.clear();
  }

  private scheduleAck(chat: string): void {
    if (this.ackTimers.has(chat)) return;
    const dueMs = this.core.nowMs() + this.core.options.ackDelayMs;
    this.ackTimers.set(chat, this.core.timers.schedule(this.core.options.ackDelayMs, () => {
      this.ackTimers.delete(chat);
      // How late this timer ran says how busy the generator's event loop is (B6 allows for it).
      this.sendAck(chat, false, Math.max(0, this.core.nowMs() - dueMs));
    }));
  }

  private sendAck(chat: string, force = false, timerLateMs = 0): void {
    // From the hello on, not only once the sync is done: a sync paged over many rounds held every
    // receipt of the messages it brought (seed 593768: 20 s, so a group's ticks moved 0.5 s
    // before the end of the heal and never reached their senders: B5). becomeReady() reconciles
    // whatever a closed link left unsent.
    if (!this.core.linkUp()) return;
    const upTo = this.core.store.timeline(chat).watermark;
    if (upTo <= 0 || (!force && !this.hasUnreported(chat, this.ackSent))) return;
    // Noted as on this link before the send: a link can report its close from inside send (a
    // shaped link delivers what is due, a close too), and a receipt noted after that close would
    // sit on the next link's list, never repeated (seen as B5 in reconnect-storm).
    this.ackSent.set(chat, Math.max(upTo, this.ackSent.get(chat) ?? 0));
    this.receiptsOnLink.add(chat);
    this.core.record({ type: 'receipt-out', chat, kind: 'delivered', upTo, piggyback: false, ...(timerLateMs > 0 ? { timerLateMs } : {}) });
    this.core.send({ kind: 'ack', chat, upTo });
  }

  /** True if a message from someone else was rendered above what `sent` reported. */
  private hasUnreported(chat: string, sent: Map<string, number>): boolean {
    return (this.othersUpTo.get(chat) ?? 0) > (sent.get(chat) ?? 0);
  }

  /**
   * A chat leaves the screen while its read timer is overdue: the timer has not run only because
   * the event loop was busy (a loaded generator), and the chat was on screen for the whole window,
   * so the read goes out now, before the view changes, saying how late it is (as the timer would).
   */
  private sendOverdueRead(chat: string): void {
    const due = this.readDue.get(chat);
    if (!due || this.core.nowMs() < due.dueMs) return;
    this.readTimers.get(chat)?.cancel();
    due.fire();
  }

  private sendRead(chat: string, force = false, upToAtMost?: number, timerLateMs = 0): void {
    if (!this.core.linkUp()) return; // as sendAck
    if (!force && !this.core.isVisible(chat)) return;
    const upTo = force ? (this.readSent.get(chat) ?? 0) : Math.min(this.core.store.timeline(chat).watermark, upToAtMost ?? Infinity);
    if (upTo <= 0 || (!force && !this.hasUnreported(chat, this.readSent))) return;
    this.noteReadSent(chat, upTo, false, timerLateMs); // before the send, as in sendAck
    this.core.send({ kind: 'read', chat, upTo });
  }

  private noteReadSent(chat: string, upTo: number, piggyback: boolean, timerLateMs = 0): void {
    this.readSent.set(chat, Math.max(upTo, this.readSent.get(chat) ?? 0));
    this.ackSent.set(chat, Math.max(upTo, this.ackSent.get(chat) ?? 0)); // read implies delivered
    this.receiptsOnLink.add(chat);
    this.core.record({ type: 'receipt-out', chat, kind: 'read', upTo, piggyback, ...(timerLateMs > 0 ? { timerLateMs } : {}) });
  }

  /** Repeats every receipt the server may not have seen (cumulative, so repeats are harmless). */
  private resendUnconfirmed(): void {
    const unconfirmed = [...this.unconfirmed];
    this.unconfirmed.clear();
    for (const chat of unconfirmed) {
      if ((this.readSent.get(chat) ?? 0) > 0) this.sendRead(chat, true);
      this.sendAck(chat, (this.ackSent.get(chat) ?? 0) > (this.readSent.get(chat) ?? 0));
    }
  }
}
