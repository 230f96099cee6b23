// A virtual phone: a faithful model of a chat app's client (connection, local store, outbox,
// receipts, sync), driven by PhoneBehaviour and observed through the history it records. This
// facade wires its rooms and speaks to the server only through a driver (simulator/drivers):
// nothing here knows a wire protocol.
import type { PhoneEvent } from '../drivers/PhoneDriver.ts';
import { Inbox } from './Inbox.ts';
import type { LocalStore } from './LocalStore.ts';
import { Outbox } from './Outbox.ts';
import type { PhoneChat, PhoneConfig, PhoneState } from './PhoneConfig.ts';
import { PhoneConnection } from './PhoneConnection.ts';
import { PhoneCore } from './PhoneCore.ts';
import type { PhoneOptions } from './PhoneOptions.ts';
import { PresenceTracker } from './PresenceTracker.ts';
import { ReceiptTracker } from './ReceiptTracker.ts';
import { SyncSession } from './SyncSession.ts';

export { DEFAULT_PHONE_OPTIONS, type PhoneOptions } from './PhoneOptions.ts';
export type { PhoneChat, PhoneConfig, PhonePhase, PhoneState } from './PhoneConfig.ts';

export class Phone {
  readonly store: LocalStore;
  readonly options: PhoneOptions;
  private readonly core: PhoneCore;
  private readonly receipts: ReceiptTracker;
  private readonly presence: PresenceTracker;
  private readonly outbox: Outbox;
  private readonly inbox: Inbox;
  private readonly sync: SyncSession;
  private readonly connection: PhoneConnection;
  /** The chats the app lists (joins and leaves change it mid-run). */
  private chatList: PhoneChat[];

  constructor(config: PhoneConfig) {
    const core = (this.core = new PhoneCore(config));
    this.options = core.options;
    this.store = core.store;
    this.chatList = [...config.chats];
    this.receipts = new ReceiptTracker(core);
    this.presence = new PresenceTracker(core);
    this.outbox = new Outbox(core, () => this.inbox);
    this.inbox = new Inbox(core, { receipts: this.receipts, gapSeen: () => this.sync.scheduleGapSync(), ownMessageSeen: (m) => this.outbox.ownMessageSeen(m) });
    this.sync = new SyncSession(core, {
      inbox: this.inbox, receipts: this.receipts, becomeReady: () => this.connection.becomeReady(), queryPresence: () => void this.presence.query(),
      serverBack: () => this.outbox.serverBack(),
    });
    this.connection = new PhoneConnection(core, {
      sessionStarted: () => this.sessionStarted(),
      ready: () => this.receipts.reconcile(),
      linkLost: () => { this.sync.linkLost(); this.receipts.linkLost(); },
      onEvent: (event) => this.onEvent(event),
    });
  }

  /** Starts connecting; the phone then keeps itself connected until `stop()`. */
  start(): void {
    if (this.core.phase !== 'idle') return;
    this.connection.connect();
  }

  /** Cancels every timer and closes the link. Nothing is recorded afterwards. */
  stop(): void {
    if (this.core.phase === 'stopped') return;
    this.connection.stop();
  }

  state(): PhoneState {
    const { core } = this;
    return {
      connected: core.phase === 'syncing' || core.phase === 'ready',
      phase: core.phase,
      gateway: this.connection.gateway,
      pendingSends: this.store.pending().length,
      outbox: this.store.outbox.size,
      foreground: core.foreground,
      openChat: core.openChatId,
      reconnectAttempt: this.connection.reconnectAttempt,
    };
  }

  /** The chats this phone lists: as configured at start, then as joins and leaves changed it. */
  chats(): readonly PhoneChat[] {
    return this.chatList;
  }

  /**
   * The user was added to a chat (scenario event join-group: the app hears it from the API
   * call it made, or from a notification). The chat is listed from now on and its messages
   * after the join come by push or by the next sync.
   */
  joinChat(chat: PhoneChat): void {
    if (!this.chatList.some((c) => c.id === chat.id)) this.chatList.push(chat);
    this.store.timeline(chat.id);
  }

  /** The user left or was removed from a chat: the app stops offering it (what it holds stays on screen). */
  leaveChat(chatId: string): void {
    this.chatList = this.chatList.filter((c) => c.id !== chatId);
    if (this.core.openChatId === chatId) this.openChat(undefined);
  }

  /**
   * The user logs this device out (scenario events logout-device and reinstall-device): the
   * connection closes for good and the device is gone. Recorded as a disconnect (code 1000,
   * not retryable), so the checkers owe it nothing from here on.
   */
  logout(): void {
    if (this.core.phase === 'stopped') return;
    // Recorded whatever the link's state: a phone in a reconnect backoff (its last close a
    // retryable 1006) that is logged out did not give up, it was told to stop.
    if (this.core.phase !== 'idle') this.core.record({ type: 'disconnect', code: 1000, reason: 'logged out' });
    this.stop();
  }

  /**
   * The user presses send. The message goes to the outbox first (so it survives a dead
   * link) and is transmitted now if a link is up (hello seen), otherwise at the next hello.
   * Returns the clientMsgId, the idempotency key every retry reuses.
   */
  send(chat: string, body: string): string {
    return this.outbox.send(chat, body);
  }

  /**
   * The user types in `chat`. A read receipt waiting for its debounce rides on this typing
   * intent instead of its own; without one, typing is throttled per chat.
   * Returns true if something went out.
   */
  typing(chat: string): boolean {
    return this.receipts.typing(chat);
  }

  /** App to the foreground (visible chat gets read) or to the background (receive and ack only). */
  setForeground(foreground: boolean): void {
    const { core } = this;
    if (!foreground) this.receipts.leaveForeground();
    core.foreground = foreground;
    core.recordView();
    // A driver whose server cares tells it (XMPP: XEP-0352); chatsim.v1 ignores it.
    if (core.linkUp()) core.send({ kind: 'app-state', foreground });
    if (foreground) {
      if (core.openChatId !== undefined) this.receipts.maybeScheduleRead(core.openChatId);
      return;
    }
    this.receipts.cancelAllReads();
  }

  /** The user opens a chat (or closes all with `undefined`); an open chat in the foreground is read. */
  openChat(chat: string | undefined): void {
    const { core } = this;
    if (core.openChatId !== undefined && core.openChatId !== chat) this.receipts.leaveChat(core.openChatId);
    core.openChatId = chat;
    core.recordView();
    if (chat === undefined) return;
    this.store.timeline(chat);
    this.receipts.maybeScheduleRead(chat);
  }

  /** Asks for the friends' presence (there is no snapshot on connect); from the hello on. */
  queryPresence(): boolean {
    return this.presence.query();
  }

  /** The OS says the network is back: see PhoneConnection.networkRestored. */
  networkRestored(afterMs: number): void {
    this.connection.networkRestored(afterMs);
  }

  /**
   * Syncs every chat now if connected, as the app does when it comes to the foreground. The
   * live engine calls it in the quiesce phase (the final read of a Jepsen-style run): a push
   * lost with no later message in its chat is otherwise never noticed.
   */
  syncNow(): void {
    this.sync.request();
  }

  private sessionStarted(): void {
    // First, so the server knows before the sync's traffic (a new session starts as visible).
    this.core.send({ kind: 'app-state', foreground: this.core.foreground });
    this.sync.request();
    // Presence pushes sent while the phone was away are gone (there is no snapshot on
    // connect): ask now, not after the sync. A sync paged over several rounds can take
    // seconds, and a friend who came back meanwhile would stay offline on this screen that
    // long, though the route for its pushes exists from the hello on (FA4 of issue 14: an
    // observer that reconnected as its friend came back asked only at ready, 5.3 s later).
    this.presence.query();
    // The outbox goes now too, not after the sync: a sync paged over many rounds (a long
    // absence, a small syncMessagesMax) held every message written offline for as long as it
    // took (seed 593768: 17 sends waited 20 s for 56 pages on flaky-3g and were acknowledged
    // 0.3 s before the end of the heal, too late to reach the other members). Sends are
    // idempotent by clientMsgId and take their seq from the server, so nothing orders them
    // after the sync.
    this.outbox.flush();
  }

  private onEvent(event: PhoneEvent): void {
    const { core } = this;
    switch (event.kind) {
      case 'session': return; // handled by the connection
      case 'stored': return this.outbox.stored(event.clientMsgId, event.seq, event.msgId);
      case 'message': return this.inbox.onMessage(event.message, 'push');
      case 'receipt': return this.inbox.applyReceipt(event.receipt);
      case 'sync-page': return this.sync.onPage(event);
      case 'refused': return this.onRefused(event);
      case 'typing': return core.record({ type: 'typing-seen', chat: event.chat, user: event.user });
      case 'presence': return this.presence.pushed(event.user, event.online);
      case 'presence-result': return this.presence.answered(event.ref, event.users);
      // The server may have lost pushes (and receipts, which have no seq to show a gap).
      case 'resync':
        // Only presence is behind (a numbered presence push never arrived): ask it again (a sync would fetch nothing).
        if (event.scope === 'presence') {
          core.config.metrics.increment('presenceResyncs');
          return void this.presence.query();
        }
        // Whatever lost messages lost presence pushes too: ask now, not only when the sync round
        // ends, which waits out a lost answer (syncTimeoutMs). Swarm seed 5000822: after a
        // presence store restart the server told u11/d1 to resync and to ask presence; the
        // presence notice was lost in a broker-loss window, so was the sync's answer, and u11/d1
        // asked presence only 15 s later, showing u10 offline though it was back.
        core.config.metrics.increment('resyncs');
        void this.presence.query();
        return this.sync.request();
    }
  }

  private onRefused(event: Extract<PhoneEvent, { kind: 'refused' }>): void {
    const { core } = this;
    core.record(event.ref === undefined ? { type: 'error-frame', code: event.code } : { type: 'error-frame', code: event.code, ref: event.ref });
    core.config.metrics.increment(`errors.${event.code}`);
    // Receipts carry no id, so a refusal without a ref may be one of them (a gateway cut off
    // from its backends refuses every frame with UNAVAILABLE): repeat them, they are idempotent.
    if (event.ref === undefined) return event.retryable ? this.receipts.refused() : undefined;
    if (this.sync.awaits(event.ref)) return this.sync.refused(event.retryable, event.positionsGone);
    this.outbox.refused(event.ref, event.code, event.retryable);
  }
}
