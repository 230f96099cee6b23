// A virtual phone: a faithful model of a chat app's client (connection, local store, outbox,
// receipts, sync), driven by PhoneBehaviour and observed through the history it records.
import { CLOSE_CODES, ERROR_CODES, isRetryableClose, type ErrorCode } from '../../server/protocol/errorCodes.ts';
import { PING_TEXT } from '../../server/protocol/frames.ts';
import type { HelloLimits } from '../../server/protocol/limits.ts';
import type {
  ClientFrame, ErrorFrame, HelloFrame, MessageFrame, ReceiptFrame, SentFrame, ServerFrame, SyncChatResult, SyncResultFrame,
} from '../../server/protocol/frames.ts';
import type { Clock, TimeSource, TimerHandle } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { HistoryEvent, HistoryRecorder, SyncChatSummary } from '../history/HistoryEvent.ts';
import type { MetricsSink } from '../metrics/MetricsSink.ts';
import type { ClientLink, ClientTransport } from '../transport/ClientTransport.ts';
import { fullJitterDelayMs } from './Backoff.ts';
import { LocalStore, tickAhead, type OutboxEntry, type TickState, type TimelineMessage } from './LocalStore.ts';
import { DEFAULT_PHONE_OPTIONS, type PhoneOptions } from './PhoneOptions.ts';
import { TimerBag } from './TimerBag.ts';

export { DEFAULT_PHONE_OPTIONS, type PhoneOptions } from './PhoneOptions.ts';

export interface PhoneChat {
  id: string;
  kind: 'direct' | 'group';
  members: string[];
}

export interface PhoneConfig {
  user: string;
  device: string;
  token: string;
  gatewayUrls: string[];
  chats: PhoneChat[];
  friends: string[];
  transport: ClientTransport;
  time: TimeSource;
  random: Random;
  history: HistoryRecorder;
  metrics: MetricsSink;
  /** Run start on `time`; history `t` is measured from here. */
  startMs: number;
  options?: Partial<PhoneOptions>;
  /**
   * How this device catches up (docs/protocol.md section 6): `watermark` (default) sends the
   * last seq held per chat; `token` chains the sync tokens of its user's inbox (C2 judges it).
   */
  syncMode?: 'watermark' | 'token';
  /**
   * The device's wall clock (default: `time`): what the phone shows as the time, which may be
   * skewed or jump (scenario clocks, clock-jump). Every timeout, backoff and elapsed time runs
   * on `time`, which is monotonic.
   */
  wallClock?: Clock;
}

/** Connection lifecycle. `syncing`: hello received, catching up; `ready`: sends flow. */
export type PhonePhase = 'idle' | 'connecting' | 'syncing' | 'ready' | 'backoff' | 'closed' | 'stopped';

export interface PhoneState {
  connected: boolean;
  phase: PhonePhase;
  gateway: string | undefined;
  /** Own messages without a `sent` ACK yet. */
  pendingSends: number;
  /** Own messages not yet read (pending, sent or delivered). */
  outbox: number;
  foreground: boolean;
  openChat: string | undefined;
  /** Failed connection attempts since the last successful one. */
  reconnectAttempt: number;
}

type Via = 'push' | 'sync';
type Stored = TimelineMessage & { via: Via };

interface SyncInFlight {
  id: string;
  timer: TimerHandle;
  /** The chats a paged round's frame listed (undefined: the whole list). */
  page?: string[];
}

export class Phone {
  readonly store: LocalStore;
  readonly options: PhoneOptions;
  private readonly p: string;
  private readonly timers: TimerBag;
  private readonly random: Random;

  private phase: PhonePhase = 'idle';
  private link: ClientLink | undefined;
  /** Identifies the current link; callbacks of older links are ignored. */
  private linkGen = 0;
  private gateway: string | undefined;
  private gatewayIndex: number;
  private reconnectAttempt = 0;
  /** When the last working link was lost; cleared once a new one is synced. */
  private linkLostMs: number | undefined;
  private lastInboundMs = 0;
  private connectTimer: TimerHandle | undefined;
  private heartbeat: TimerHandle | undefined;

  private syncCounter = 0;
  /** What the server's hello announced (absent from an older server: one frame holds everything). */
  private serverLimits: HelloLimits | undefined;
  /** Chats of a paged sync round still to sync, in order; undefined when the round fits one frame. */
  private syncRemaining: string[] | undefined;
  private syncInFlight: SyncInFlight | undefined;
  private syncAgain = false;
  /** Token mode: the token of the last answer, the next request's; undefined before the first (and after SYNC_RESET). */
  private syncToken: string | undefined;
  /** Token mode: chats whose member_added naming this user came, whose first message event is still to come. */
  private readonly joinedByToken = new Set<string>();
  /** Sends that ended unknown (a retry refused for good): if the message comes back, the send was stored. */
  private readonly unknownSends = new Map<string, OutboxEntry>();
  private syncRoundMessages = 0;
  private gapSyncTimer: TimerHandle | undefined;

  private sendCounter = 0;
  private readonly retryTimers = new Map<string, TimerHandle>();
  private readonly ackTimers = new Map<string, TimerHandle>();
  private readonly readTimers = new Map<string, TimerHandle>();
  /** For each pending read timer: when it is due and what it does (see sendOverdueRead). */
  private readonly readDue = new Map<string, { dueMs: number; fire: () => void }>();
  /** Highest ack / read upTo sent per chat (read implies delivered, so it raises both). */
  private readonly ackSent = new Map<string, number>();
  private readonly readSent = new Map<string, number>();
  /** Chats whose receipts went out on the current link: the server may not have seen them. */
  private readonly receiptsOnLink = new Set<string>();
  /** Highest rendered seq per chat written by someone else: only those need our receipts. */
  private readonly othersUpTo = new Map<string, number>();
  private readonly typingSentMs = new Map<string, number>();
  private presenceCounter = 0;
  /** Repeats receipts refused without a ref (see receiptsRefused); the attempt grows its backoff. */
  private receiptRetryTimer: TimerHandle | undefined;
  private receiptRetryAttempt = 0;
  private reconnectTimer: TimerHandle | undefined;
  /** networkRestored's delay, heard during a connect attempt: used if that attempt fails. */
  private networkBackAfterMs: number | undefined;
  /** presence_query id -> when it was sent: an answer is a snapshot taken somewhere in between. */
  private readonly presenceAskedMs = new Map<string, { atMs: number; stampMs: number }>();
  /** friend -> when its latest presence push arrived (a query asked before it is older news). */
  private readonly presencePushedMs = new Map<string, number>();

  private foreground = false;
  private openChatId: string | undefined;
  /** The chats the app lists (joins and leaves change it mid-run). */
  private chatList: PhoneChat[];

  constructor(private readonly config: PhoneConfig) {
    this.options = { ...DEFAULT_PHONE_OPTIONS, ...config.options };
    this.p = `${config.user}/${config.device}`;
    this.timers = new TimerBag(config.time);
    this.random = config.random;
    this.store = new LocalStore(config.chats.map((chat) => chat.id));
    this.chatList = [...config.chats];
    this.gatewayIndex = config.gatewayUrls.length > 0 ? this.random.nextInt(config.gatewayUrls.length) : 0;
  }

  // ---------------------------------------------------------------- public API

  /** Starts connecting; the phone then keeps itself connected until `stop()`. */
  start(): void {
    if (this.phase !== 'idle') return;
    this.connect();
  }

  /** Cancels every timer and closes the link. Nothing is recorded afterwards. */
  stop(): void {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.timers.close();
    const link = this.link;
    this.link = undefined;
    this.linkGen++;
    link?.close(1000, 'phone stopped');
  }

  state(): PhoneState {
    return {
      connected: this.phase === 'syncing' || this.phase === 'ready',
      phase: this.phase,
      gateway: this.gateway,
      pendingSends: this.store.pending().length,
      outbox: this.store.outbox.size,
      foreground: this.foreground,
      openChat: this.openChatId,
      reconnectAttempt: this.reconnectAttempt,
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
    if (this.openChatId === chatId) this.openChat(undefined);
  }

  /**
   * The user logs this device out (scenario events logout-device and reinstall-device): the
   * connection closes for good and the device is gone. Recorded as a disconnect (code 1000,
   * not retryable), so the checkers owe it nothing from here on.
   */
  logout(): void {
    if (this.phase === 'stopped') return;
    // Recorded whatever the link's state: a phone in a reconnect backoff (its last close a
    // retryable 1006) that is logged out did not give up, it was told to stop.
    if (this.phase !== 'idle') this.record({ type: 'disconnect', code: 1000, reason: 'logged out' });
    this.stop();
  }

  /**
   * The user presses send. The message goes to the outbox first (so it survives a dead
   * link) and is transmitted now if a link is up (hello seen), otherwise at the next hello.
   * Returns the clientMsgId, the idempotency key every retry reuses.
   */
  send(chat: string, body: string): string {
    const clientMsgId = this.nextClientMsgId();
    const entry: OutboxEntry = { chat, clientMsgId, body, createdMs: this.config.time.nowMs(), shownAtMs: (this.config.wallClock ?? this.config.time).nowMs(), state: 'pending', attempts: 0 };
    this.store.outbox.set(clientMsgId, entry);
    this.store.timeline(chat);
    this.record({ type: 'invoke', op: 'send', chat, clientMsgId, body });
    if (this.linkUp()) this.transmit(entry);
    return clientMsgId;
  }

  /**
   * The user types in `chat`. A read receipt waiting for its debounce rides on this typing
   * frame instead of its own frame; without one, typing frames are throttled per chat.
   * Returns true if a frame went out.
   */
  typing(chat: string): boolean {
    if (this.phase !== 'ready') return false;
    const upTo = this.store.timeline(chat).watermark;
    const pendingRead = this.readTimers.get(chat);
    if (pendingRead && this.isVisible(chat) && this.hasUnreported(chat, this.readSent)) {
      pendingRead.cancel();
      this.readTimers.delete(chat);
      // A read timer already due that has not run (a busy event loop): say how late it is, as the timer would.
      const overdueMs = Math.max(0, this.config.time.nowMs() - (this.readDue.get(chat)?.dueMs ?? Infinity));
      this.readDue.delete(chat);
      this.noteReadSent(chat, upTo, true, overdueMs); // before the send, as in sendAck
      this.record({ type: 'typing-out', chat });
      this.sendFrame({ type: 'typing', chat, read: upTo });
      this.config.metrics.increment('receipts.piggybacked');
      this.typingSentMs.set(chat, this.config.time.nowMs());
      return true;
    }
    const lastMs = this.typingSentMs.get(chat);
    if (lastMs !== undefined && this.config.time.nowMs() - lastMs < this.options.typingThrottleMs) return false;
    this.sendFrame({ type: 'typing', chat });
    this.record({ type: 'typing-out', chat });
    this.typingSentMs.set(chat, this.config.time.nowMs());
    return true;
  }

  /** App to the foreground (visible chat gets read) or to the background (receive and ack only). */
  setForeground(foreground: boolean): void {
    if (!foreground) for (const chat of [...this.readDue.keys()]) this.sendOverdueRead(chat);
    this.foreground = foreground;
    this.recordView();
    if (foreground) {
      if (this.openChatId !== undefined) this.maybeScheduleRead(this.openChatId);
      return;
    }
    for (const timer of this.readTimers.values()) timer.cancel();
    this.readTimers.clear();
    this.readDue.clear();
  }

  /** The user opens a chat (or closes all with `undefined`); an open chat in the foreground is read. */
  openChat(chat: string | undefined): void {
    if (this.openChatId !== undefined && this.openChatId !== chat) {
      this.sendOverdueRead(this.openChatId);
      this.cancelRead(this.openChatId);
    }
    this.openChatId = chat;
    this.recordView();
    if (chat === undefined) return;
    this.store.timeline(chat);
    this.maybeScheduleRead(chat);
  }

  /** Asks for the friends' presence (there is no snapshot on connect); from the hello on. */
  queryPresence(): boolean {
    if ((this.phase !== 'ready' && this.phase !== 'syncing') || this.config.friends.length === 0) return false;
    // Paged within the limits the hello announced (presenceQueryUsersMax users, frameBytesMax bytes).
    for (let from = 0; from < this.config.friends.length;) {
      const users = idPage(this.config.friends.slice(from), this.serverLimits?.presenceQueryUsersMax, this.serverLimits?.frameBytesMax);
      from += users.length;
      this.askPresence(users);
    }
    return true;
  }

  /**
   * One page of a presence query. An answer can be lost on the way (it comes through the
   * broker, which is at most once): one not back within `presenceQueryTimeoutMs` on the same
   * link is asked again (seed 31: the answer to the query at the hello was lost in a
   * broker-loss window and the phone showed a friend offline until its next sync round, 19 s
   * later). A new link asks anew at its hello.
   */
  private askPresence(users: string[]): void {
    const id = `${this.config.device}-q${++this.presenceCounter}`;
    // Bounded: at most the last few unanswered queries are remembered (answers can be lost).
    if (this.presenceAskedMs.size >= 16) this.presenceAskedMs.delete(this.presenceAskedMs.keys().next().value!);
    this.presenceAskedMs.set(id, { atMs: this.config.time.nowMs(), stampMs: this.presenceStampMs() });
    this.sendFrame({ type: 'presence_query', id, users });
    const gen = this.linkGen;
    this.timers.schedule(this.options.presenceQueryTimeoutMs, () => {
      // Still remembered if unanswered; kept, so a late answer keeps its askedAt (a push since wins).
      if (gen !== this.linkGen || !this.presenceAskedMs.has(id)) return;
      this.config.metrics.increment('presence.queryTimeouts');
      this.askPresence(users);
    });
  }

  // ---------------------------------------------------------------- connection

  private connect(): void {
    const urls = this.config.gatewayUrls;
    if (urls.length === 0) throw new Error(`phone ${this.p}: no gateway URLs`);
    const url = urls[this.gatewayIndex % urls.length]!;
    this.phase = 'connecting';
    this.gateway = url;
    const gen = ++this.linkGen;
    let helloSeen = false;
    const link = this.config.transport.open(url, this.config.token, {
      onOpen: () => { if (gen === this.linkGen) this.lastInboundMs = this.config.time.nowMs(); },
      onFrame: (text) => {
        if (gen !== this.linkGen) return;
        const frame = this.parse(text);
        if (frame?.type === 'hello') helloSeen = true;
        if (frame) this.onFrame(frame);
      },
      onClose: (code, reason) => { if (gen === this.linkGen) this.onLinkClosed(code, reason, helloSeen); },
    });
    if (gen !== this.linkGen) return; // closed synchronously inside open()
    this.link = link;
    this.connectTimer = this.timers.schedule(this.options.connectTimeoutMs, () => {
      if (gen === this.linkGen && !helloSeen) link.abort();
    });
  }

  private onLinkClosed(code: number, reason: string, helloSeen: boolean): void {
    this.linkGen++;
    this.link = undefined;
    this.connectTimer?.cancel();
    this.heartbeat?.cancel();
    this.syncInFlight?.timer.cancel();
    this.syncInFlight = undefined;
    this.syncAgain = false;
    this.receiptsLost();
    // Bug 'no-reconnect-on-going-away': a draining gateway's 1001 is taken as final.
    const retry = isRetryableClose(code) && !(this.options.noReconnectOnGoingAway && code === CLOSE_CODES.GOING_AWAY.code);
    if (helloSeen || !retry) this.record({ type: 'disconnect', code, reason });
    if (helloSeen) this.linkLostMs ??= this.config.time.nowMs();
    else this.config.metrics.increment('connects.failed');
    if (!retry) {
      this.phase = 'closed';
      this.config.metrics.increment('disconnects.final');
      return;
    }
    this.scheduleReconnect();
  }

  /** Full-jitter backoff, then the next gateway in the ring (a failing one is not retried first). */
  private scheduleReconnect(): void {
    this.phase = 'backoff';
    const networkBack = this.networkBackAfterMs;
    this.networkBackAfterMs = undefined;
    if (networkBack !== undefined) {
      // The network came back while this attempt (begun without it) was under way: try again
      // as networkRestored would have, not after the backoff the failures had grown to.
      this.reconnectAttempt = 0;
      this.gatewayIndex++;
      this.reconnectTimer = this.timers.schedule(networkBack, () => { this.reconnectTimer = undefined; this.connect(); });
      return;
    }
    const delayMs = fullJitterDelayMs(this.reconnectAttempt, this.options.reconnectBaseMs, this.options.reconnectCapMs, this.random);
    this.reconnectAttempt++;
    this.gatewayIndex++;
    this.reconnectTimer = this.timers.schedule(delayMs, () => { this.reconnectTimer = undefined; this.connect(); });
  }

  /**
   * The OS says the network is back (as Android's and iOS's connectivity callbacks do): a phone
   * waiting out a reconnect backoff tries again after `afterMs` instead of the rest of its
   * backoff, and starts a fresh backoff sequence. A phone in the middle of a connect attempt
   * remembers it: if that attempt fails, the next one follows after `afterMs` (seed 593632: an
   * attempt begun 0.2 s before the heal, while offline, failed just after the callback, and
   * the phone then waited out a backoff longer than the heal, never dialling again: F1).
   * Otherwise nothing changes.
   */
  networkRestored(afterMs: number): void {
    if (this.phase === 'connecting') {
      this.networkBackAfterMs = afterMs;
      return;
    }
    if (this.phase !== 'backoff' || !this.reconnectTimer) return;
    this.reconnectTimer.cancel();
    this.reconnectAttempt = 0;
    this.reconnectTimer = this.timers.schedule(afterMs, () => { this.reconnectTimer = undefined; this.connect(); });
  }

  private onHello(frame: HelloFrame): void {
    this.connectTimer?.cancel();
    this.networkBackAfterMs = undefined;
    this.serverLimits = frame.limits;
    this.phase = 'syncing';
    this.record({ type: 'connect', gateway: this.gateway ?? '' });
    this.startHeartbeat(frame.heartbeatIntervalMs > 0 ? frame.heartbeatIntervalMs : this.options.heartbeatIntervalMs);
    this.requestSync();
    // Presence pushes sent while the phone was away are gone (there is no snapshot on
    // connect): ask now, not after the sync. A sync paged over several rounds can take
    // seconds, and a friend who came back meanwhile would stay offline on this screen that
    // long, though the route for its pushes exists from the hello on (FA4 of issue 14: an
    // observer that reconnected as its friend came back asked only at ready, 5.3 s later).
    this.queryPresence();
    // The outbox goes now too, not after the sync: a sync paged over many rounds (a long
    // absence, a small syncMessagesMax) held every message written offline for as long as it
    // took (seed 593768: 17 sends waited 20 s for 56 pages on flaky-3g and were acknowledged
    // 0.3 s before the end of the heal, too late to reach the other members). Sends are
    // idempotent by clientMsgId and take their seq from the server, so nothing orders them
    // after the sync.
    this.flushOutbox();
  }

  /** True between the hello and the link's loss: frames can go out (sync may still be paging). */
  private linkUp(): boolean {
    return this.phase === 'syncing' || this.phase === 'ready';
  }

  /**
   * What a presence push and a query are stamped with to tell which is newer: monotonic time.
   * Bug 'phone-wall-clock-presence': the wall clock, so once it jumps back every answer about
   * a user pushed before the jump looks older than that push and is dropped.
   */
  private presenceStampMs(): number {
    return (this.options.wallClockPresence ? (this.config.wallClock ?? this.config.time) : this.config.time).nowMs();
  }

  /** Pings every interval; a link silent for `heartbeatTimeoutIntervals` intervals is half-open. */
  private startHeartbeat(intervalMs: number): void {
    this.heartbeat?.cancel();
    const timeoutMs = intervalMs * this.options.heartbeatTimeoutIntervals;
    this.heartbeat = this.timers.every(intervalMs, () => {
      if (this.config.time.nowMs() - this.lastInboundMs >= timeoutMs) {
        this.config.metrics.increment('heartbeat.timeouts');
        this.link?.abort();
        return;
      }
      this.sendText(PING_TEXT, 'ping');
    });
  }

  /** Hello and sync done: measure the outage, re-send unconfirmed receipts (the outbox went at the hello). */
  private becomeReady(): void {
    this.phase = 'ready';
    this.record({ type: 'ready' });
    this.reconnectAttempt = 0;
    if (this.linkLostMs !== undefined) {
      this.config.metrics.observe('reconnect', this.config.time.nowMs() - this.linkLostMs);
      this.config.metrics.increment('reconnects');
      this.linkLostMs = undefined;
    }
    this.reconcileReceipts();
  }

  // ---------------------------------------------------------------- frames in

  private parse(text: string): ServerFrame | undefined {
    this.lastInboundMs = this.config.time.nowMs();
    try {
      const frame = JSON.parse(text) as ServerFrame;
      if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') throw new Error('not a frame');
      this.config.metrics.increment(`frames.in.${frame.type}`);
      return frame;
    } catch {
      this.config.metrics.increment('frames.in.invalid');
      return undefined;
    }
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello': return this.onHello(frame);
      case 'sent': return this.onSent(frame);
      case 'message': return this.onMessage(frame, 'push');
      case 'receipt': return this.applyReceipt(frame);
      case 'sync_result': return this.onSyncResult(frame);
      case 'error': return this.onError(frame);
      case 'typing': return this.record({ type: 'typing-seen', chat: frame.chat, user: frame.user });
      case 'presence':
        this.presencePushedMs.set(frame.user, this.presenceStampMs());
        return this.record({ type: 'presence-seen', user: frame.user, online: frame.online });
      case 'presence_result': {
        const asked = this.presenceAskedMs.get(frame.ref);
        this.presenceAskedMs.delete(frame.ref);
        const askedAt = asked?.atMs;
        for (const entry of frame.users) {
          // The answer is a snapshot taken some time after we asked; a push that arrived since
          // may be newer, and the answer then must not overwrite it (the snapshot and the push
          // travel different paths, so arrival order says nothing). Every change a query can
          // see is also pushed to connected friends, so keeping the push loses nothing.
          // (10,000 phones: u7344/d1 asked at 13.615 s, heard u7636 online by push at
          // 13.814 s, then the older answer "offline" at 13.930 s, and showed it.)
          if (asked !== undefined && (this.presencePushedMs.get(entry.user) ?? -Infinity) > asked.stampMs) continue;
          this.record({ type: 'presence-seen', user: entry.user, online: entry.online, ...(askedAt !== undefined ? { askedAt: askedAt - this.config.startMs } : {}) });
        }
        return;
      }
      case 'pong': return;
      // The gateway's broker link was down: pushes (and receipts, which have no seq to show a gap) may be lost.
      case 'resync':
        // A presence push numbered by the presence service never reached the gateway: only
        // presence is behind, ask it again (a sync would fetch nothing).
        if (frame.reason === 'presence-gap') {
          this.config.metrics.increment('presenceResyncs');
          return void this.queryPresence();
        }
        this.config.metrics.increment('resyncs');
        return this.requestSync();
    }
  }

  private onSent(frame: SentFrame): void {
    const entry = this.store.outbox.get(frame.ref);
    if (!entry || entry.state !== 'pending') return; // a repeated ACK: already applied
    this.acknowledge(entry, frame.seq, frame.msgId);
  }

  /** The first ACK of an own message: tick sent, place it in the timeline, apply known receipts. */
  private acknowledge(entry: OutboxEntry, seq: number, msgId: string): void {
    entry.state = 'sent';
    entry.seq = seq;
    entry.msgId = msgId;
    this.retryTimers.get(entry.clientMsgId)?.cancel();
    this.retryTimers.delete(entry.clientMsgId);
    const now = this.config.time.nowMs();
    this.record({ type: 'ok', op: 'send', chat: entry.chat, clientMsgId: entry.clientMsgId, seq, msgId });
    this.record({ type: 'tick', chat: entry.chat, clientMsgId: entry.clientMsgId, seq, tick: 'sent' });
    this.config.metrics.observe('sendToAck', now - entry.createdMs);
    this.place({ chat: entry.chat, seq, from: this.config.user, fromDevice: this.config.device, clientMsgId: entry.clientMsgId, ts: now, via: 'push' });
    this.advanceTick(entry, this.store.tickFromCursors(entry.chat, seq));
  }

  private onMessage(frame: MessageFrame, via: Via): void {
    if (this.isOwnDevice(frame.from, frame.fromDevice)) {
      // Our own message came back (sync after a lost ACK): it counts as the ACK.
      const entry = this.store.outbox.get(frame.clientMsgId);
      if (entry?.state === 'pending') return this.acknowledge(entry, frame.seq, frame.msgId);
      // A send whose outcome was unknown (a retry refused) turns out stored: it resolves now.
      const unknown = this.unknownSends.get(frame.clientMsgId);
      if (unknown && !entry) {
        this.unknownSends.delete(frame.clientMsgId);
        this.record({ type: 'ok', op: 'send', chat: unknown.chat, clientMsgId: unknown.clientMsgId, seq: frame.seq, msgId: frame.msgId });
      }
    }
    this.place({ chat: frame.chat, seq: frame.seq, from: frame.from, fromDevice: frame.fromDevice, clientMsgId: frame.clientMsgId, ts: frame.ts, via });
  }

  /** Deduplicates by (chat, seq), buffers above a gap, renders the contiguous run in order. */
  private place(message: Stored): void {
    const timeline = this.store.timeline(message.chat);
    const expected = timeline.watermark + 1;
    const result = timeline.place(message);
    if (result === 'duplicate') {
      this.config.metrics.increment('messages.duplicate');
      // Bug 'render-duplicate-push': a push of a message already held is shown again.
      if (this.options.renderDuplicatePush && message.via === 'push') this.render(message);
      return;
    }
    if (result === 'gap') {
      this.record({ type: 'gap', chat: message.chat, expected, got: message.seq });
      // Bug 'render-out-of-order-push': shown at once, ahead of the seqs still missing.
      if (this.options.renderOutOfOrderPush && message.via === 'push') this.render(message);
      this.scheduleGapSync();
      return;
    }
    this.renderReady(message.chat);
  }

  /** Renders the contiguous run above the watermark, then schedules the receipts it owes. */
  private renderReady(chat: string): void {
    let rendered = 0;
    for (const ready of this.store.timeline(chat).takeReady() as Stored[]) if (this.render(ready)) rendered++;
    if (rendered === 0) return; // own messages need no receipts of ours
    this.scheduleAck(chat);
    this.maybeScheduleRead(chat);
  }

  private render(message: Stored): boolean {
    if (this.isOwnDevice(message.from, message.fromDevice)) return false; // already on screen since send()
    this.othersUpTo.set(message.chat, message.seq);
    // fanOut and per-recipient sendToDelivered are computed from the whole history after the run
    // (simulator/metrics/historyLatencies.ts): only there are all of a message's renders known.
    this.record({ type: 'render', chat: message.chat, seq: message.seq, from: message.from, clientMsgId: message.clientMsgId, via: message.via, storedAt: message.ts - this.config.startMs });
    return true;
  }

  /** Receipts are cumulative: every own message of the chat with seq <= upTo gets the tick. */
  private applyReceipt(frame: ReceiptFrame): void {
    this.record({ type: 'receipt-in', chat: frame.chat, user: frame.user, kind: frame.kind, upTo: frame.upTo });
    if (!this.store.raiseCursor(frame.chat, frame.kind, frame.upTo)) return;
    for (const entry of this.store.sentIn(frame.chat)) this.advanceTick(entry, this.store.tickFromCursors(entry.chat, entry.seq!));
  }

  /** Moves a tick forward only; read implies delivered, so both are recorded in order. */
  private advanceTick(entry: OutboxEntry, target: TickState): void {
    if (target === 'delivered' || target === 'read') this.setTick(entry, 'delivered', 'sendToDelivered');
    if (target === 'read') {
      this.setTick(entry, 'read', 'sendToRead');
      this.store.outbox.delete(entry.clientMsgId); // final: nothing can change it any more
    }
  }

  private setTick(entry: OutboxEntry, tick: 'delivered' | 'read', metric: 'sendToDelivered' | 'sendToRead'): void {
    if (!tickAhead(tick, entry.state)) return;
    entry.state = tick;
    this.record({ type: 'tick', chat: entry.chat, clientMsgId: entry.clientMsgId, seq: entry.seq!, tick });
    // The delivered tick's own latency is not a metric: sendToDelivered is per recipient (from the history).
    if (metric === 'sendToRead') this.config.metrics.observe(metric, this.config.time.nowMs() - entry.createdMs);
  }

  private onError(frame: ErrorFrame): void {
    this.record(frame.ref === undefined ? { type: 'error-frame', code: frame.code } : { type: 'error-frame', code: frame.code, ref: frame.ref });
    this.config.metrics.increment(`errors.${frame.code}`);
    // Receipts carry no id, so a refusal without a ref may be one of them (a gateway cut off
    // from its backends refuses every frame with UNAVAILABLE): repeat them, they are idempotent.
    if (frame.ref === undefined) return isRetryable(frame.code) ? this.receiptsRefused() : undefined;
    if (this.syncInFlight?.id === frame.ref) return this.onSyncError(frame.code);
    const entry = this.store.outbox.get(frame.ref);
    if (!entry || entry.state !== 'pending' || isRetryable(frame.code)) return; // the retry timer resends
    this.retryTimers.get(entry.clientMsgId)?.cancel();
    this.retryTimers.delete(entry.clientMsgId);
    this.store.outbox.delete(entry.clientMsgId);
    // A refusal of a repeat proves nothing of the earlier tries: one may have been stored before
    // the refusal became true (a member who left the group between the first try and its retry:
    // swarm seed 33, NOT_MEMBER for a send stored as seq 5). The outcome is unknown, not failed.
    if (entry.attempts > 1) {
      this.record({ type: 'info', op: 'send', chat: entry.chat, clientMsgId: entry.clientMsgId, reason: `retry refused: ${frame.code}` });
      this.unknownSends.set(entry.clientMsgId, entry);
    } else this.record({ type: 'fail', op: 'send', chat: entry.chat, clientMsgId: entry.clientMsgId, code: frame.code });
  }

  // ---------------------------------------------------------------- sync

  /**
   * Syncs every chat now if connected, as the app does when it comes to the foreground. The
   * live engine calls it in the quiesce phase (the final read of a Jepsen-style run): a push
   * lost with no later message in its chat is otherwise never noticed.
   */
  syncNow(): void {
    this.requestSync();
  }

  /** Starts a watermark sync round, or queues one more if a sync is in flight. */
  private requestSync(): void {
    if (this.phase !== 'syncing' && this.phase !== 'ready') return;
    if (this.syncInFlight) {
      this.syncAgain = true;
      return;
    }
    this.syncRoundMessages = 0;
    this.startSyncPages();
    this.sendSync();
  }

  /**
   * A round lists every chat. If they do not fit one frame (more than `syncChatsMax`, or more
   * bytes than `frameBytesMax`), the round pages: each frame lists what fits and asks for the
   * listed chats only, and a chat whose page was cut is asked again before the round moves on.
   */
  private startSyncPages(): void {
    const chats = this.store.chats();
    this.syncRemaining = syncPage(chats, this.store.watermarks(), this.serverLimits).length < chats.length ? chats : undefined;
  }

  private sendSync(): void {
    if (this.config.syncMode === 'token') return this.sendTokenSync();
    const id = `${this.config.device}-s${++this.syncCounter}`;
    const all = this.store.watermarks();
    const page = this.syncRemaining ? syncPage(this.syncRemaining, all, this.serverLimits) : undefined;
    const watermarks = page ? Object.fromEntries(page.map((chat) => [chat, all[chat] ?? 0])) : all;
    const frame: ClientFrame = { type: 'sync', id, chats: watermarks, ...(this.store.epoch !== undefined ? { epoch: this.store.epoch } : {}), ...(page ? { listedOnly: true } : {}) };
    this.record({ type: 'invoke', op: 'sync', mode: 'watermark', id, watermarks });
    const timer = this.timers.schedule(this.options.syncTimeoutMs, () => {
      if (this.syncInFlight?.id !== id) return;
      this.syncInFlight = undefined;
      this.sendSync();
    });
    this.syncInFlight = page ? { id, timer, page } : { id, timer };
    this.sendFrame(frame);
  }

  /**
   * Token mode: one request names the token of the last answer ("" before the first: the whole
   * inbox of the epoch); each answer's token is the next request's, so no inbox event falls
   * between two of them (C2). A round lasts while answers say `hasMore`.
   */
  private sendTokenSync(): void {
    const id = `${this.config.device}-s${++this.syncCounter}`;
    const token = this.syncToken ?? '';
    this.record({ type: 'invoke', op: 'sync', mode: 'token', id, token });
    const timer = this.timers.schedule(this.options.syncTimeoutMs, () => {
      if (this.syncInFlight?.id !== id) return;
      this.syncInFlight = undefined;
      this.sendSync();
    });
    this.syncInFlight = { id, timer };
    this.sendFrame({ type: 'sync', id, token });
  }

  /** A token sync's answer: messages and receipts as if pushed by sync, the token kept for the next request. */
  private onTokenSyncResult(frame: SyncResultFrame): void {
    this.syncInFlight!.timer.cancel();
    this.syncInFlight = undefined;
    this.store.epoch = frame.epoch;
    const events = frame.events ?? [];
    const positions = events.map((e) => e.position);
    let messages = 0;
    for (const { event } of events) {
      if (event.kind === 'message') {
        const m = event.message;
        const timeline = this.store.timeline(m.chatId);
        // The inbox holds a chat's messages from the user's join on, in seq order: the first one
        // after our own member_added shows where the chat begins for a member who joined later,
        // or resumes for one who left and was added again (the messages sent while it was out
        // never come; swarm seed 119). One at or below the watermark (a copy repeated by two
        // chat servers) shows nothing.
        if (m.seq > timeline.watermark && this.joinedByToken.delete(m.chatId)) {
          timeline.startAfter(m.seq - 1);
          this.renderReady(m.chatId); // pushes held above the old start may now be in order
        }
        this.onMessage({ type: 'message', chat: m.chatId, seq: m.seq, msgId: m.msgId, from: m.senderId, fromDevice: m.senderDeviceId, clientMsgId: m.clientMsgId, body: m.body, ts: m.sentAtMs }, 'sync');
        messages++;
      } else if (event.kind === 'receipt') {
        this.applyReceipt({ type: 'receipt', chat: event.chatId, user: event.userId, kind: event.cursor, upTo: event.upTo });
      } else if (event.kind === 'member_added') {
        this.store.timeline(event.chatId);
        if (event.userId === this.config.user) this.joinedByToken.add(event.chatId);
      }
    }
    const inOrder = positions.every((pos, i) => i === 0 || pos > positions[i - 1]!);
    this.record({
      type: 'ok', op: 'sync', mode: 'token', id: frame.ref, messages, hasMore: frame.hasMore, ...(frame.token !== undefined ? { token: frame.token } : {}),
      events: { count: positions.length, first: positions[0] ?? 0, last: positions.at(-1) ?? 0, inOrder },
    });
    if (frame.token !== undefined) this.syncToken = frame.token;
    this.syncRoundMessages += messages;
    if (this.syncAgain) {
      this.syncAgain = false;
      return this.sendSync();
    }
    if (frame.hasMore) return this.sendSync();
    this.config.metrics.observe('syncMessages', this.syncRoundMessages);
    if (this.phase === 'syncing') this.becomeReady();
    else this.onSyncRoundDone();
  }

  private onSyncResult(frame: SyncResultFrame): void {
    if (this.syncInFlight?.id !== frame.ref) return; // a late answer to a timed-out request
    if (this.config.syncMode === 'token') return this.onTokenSyncResult(frame);
    const sentPage = this.syncInFlight.page;
    this.syncInFlight.timer.cancel();
    this.syncInFlight = undefined;
    this.store.epoch = frame.epoch;
    let messages = 0;
    let more = frame.hasMore;
    const perChat: SyncChatSummary[] = [];
    const cut: string[] = [];
    for (const chat of frame.chats ?? []) {
      perChat.push(summarizeSyncChat(chat));
      this.store.timeline(chat.chat);
      for (const message of chat.messages) this.onMessage(message, 'sync');
      for (const receipt of chat.receipts) this.applyReceipt(receipt);
      messages += chat.messages.length;
      more ||= chat.hasMore;
      if (chat.hasMore) cut.push(chat.chat);
    }
    this.record({ type: 'ok', op: 'sync', mode: 'watermark', id: frame.ref, messages, hasMore: more, chats: perChat });
    this.syncRoundMessages += messages;
    if (this.syncRemaining) {
      // The page is done except its cut chats, which go first in the next page.
      const page = new Set(sentPage ?? []);
      this.syncRemaining = [...cut, ...this.syncRemaining.filter((chat) => !page.has(chat) && !cut.includes(chat))];
      more = this.syncRemaining.length > 0;
    }
    if (this.syncAgain) {
      this.syncAgain = false;
      this.startSyncPages(); // a gap may sit in a chat this round already synced: every chat again
      return this.sendSync();
    }
    if (more) return this.sendSync();
    this.config.metrics.observe('syncMessages', this.syncRoundMessages);
    if (this.phase === 'syncing') this.becomeReady();
    else this.onSyncRoundDone();
  }

  /**
   * A sync round on a ready link (after a resync, a gap or a final read) is done. Whatever made
   * it necessary (a gateway cut off from the broker, lost pushes) lost presence pushes too, and
   * possibly refused receipts: both are re-read or repeated now, as after a reconnect.
   */
  private onSyncRoundDone(): void {
    this.receiptRetryTimer?.cancel();
    this.receiptRetryTimer = undefined;
    this.receiptRetryAttempt = 0;
    this.resendUnconfirmedReceipts();
    this.queryPresence();
  }

  /** SYNC_RESET: the epoch is gone, sync again without it; retryable: again after a pause. */
  private onSyncError(code: ErrorCode): void {
    const inFlight = this.syncInFlight!;
    inFlight.timer.cancel();
    this.syncInFlight = undefined;
    if (code === 'SYNC_RESET') {
      this.resetPositions();
      this.startSyncPages();
      return this.sendSync();
    }
    if (isRetryable(code)) {
      this.syncInFlight = { id: inFlight.id, timer: this.timers.schedule(this.randomRetryDelayMs(0), () => { this.syncInFlight = undefined; this.sendSync(); }) };
      return;
    }
    // A sync the server refuses for good: carry on with what we have rather than hang.
    if (this.phase === 'syncing') this.becomeReady();
  }

  /** Start over after an epoch change: positions and receipt state of the old epoch mean nothing. */
  private resetPositions(): void {
    this.store.resetPositions();
    this.syncToken = undefined;
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
    this.config.metrics.increment('sync.resets');
  }

  /** A gap waits briefly for the missing push (pushes from two chat servers can cross). */
  private scheduleGapSync(): void {
    if (this.gapSyncTimer) return;
    this.gapSyncTimer = this.timers.schedule(this.options.gapSyncDelayMs, () => {
      this.gapSyncTimer = undefined;
      if (this.store.chats().some((chat) => this.store.timeline(chat).hasGap())) this.requestSync();
    });
  }

  // ---------------------------------------------------------------- outbox

  private transmit(entry: OutboxEntry): void {
    entry.attempts++;
    this.sendFrame({ type: 'send', chat: entry.chat, clientMsgId: entry.clientMsgId, body: entry.body });
    this.retryTimers.get(entry.clientMsgId)?.cancel();
    this.retryTimers.set(entry.clientMsgId, this.timers.schedule(this.randomRetryDelayMs(entry.attempts - 1), () => {
      this.retryTimers.delete(entry.clientMsgId);
      if (entry.state === 'pending' && this.linkUp()) {
        this.config.metrics.increment('sends.retried');
        this.transmit(entry);
      }
    }));
  }

  /** Equal jitter: never much sooner than the exponential step, so a slow ACK is not hammered. */
  private randomRetryDelayMs(attempt: number): number {
    const boundMs = Math.min(this.options.sendRetryCapMs, this.options.sendRetryBaseMs * 2 ** Math.min(attempt, 62));
    return boundMs / 2 + this.random.nextFloat() * (boundMs / 2);
  }

  private flushOutbox(): void {
    for (const entry of this.store.pending()) this.transmit(entry);
  }

  // ---------------------------------------------------------------- receipts out

  private scheduleAck(chat: string): void {
    if (this.ackTimers.has(chat)) return;
    const dueMs = this.config.time.nowMs() + this.options.ackDelayMs;
    this.ackTimers.set(chat, this.timers.schedule(this.options.ackDelayMs, () => {
      this.ackTimers.delete(chat);
      // How late this timer ran says how busy the generator's event loop is (B6 allows for it).
      this.sendAck(chat, false, Math.max(0, this.config.time.nowMs() - dueMs));
    }));
  }

  private sendAck(chat: string, force = false, timerLateMs = 0): void {
    // From the hello on, not only once the sync is done: a sync paged over many rounds held every
    // receipt of the messages it brought (seed 593768: 20 s, so a group's ticks moved 0.5 s
    // before the end of the heal and never reached their senders: B5). becomeReady() reconciles
    // whatever a closed link left unsent.
    if (!this.linkUp()) return;
    const upTo = this.store.timeline(chat).watermark;
    if (upTo <= 0 || (!force && !this.hasUnreported(chat, this.ackSent))) return;
    // Noted as on this link before the send: a link can report its close from inside send (a
    // shaped link delivers what is due, a close too), and a receipt noted after that close would
    // sit on the next link's list, never repeated (seen as B5 in reconnect-storm).
    this.ackSent.set(chat, Math.max(upTo, this.ackSent.get(chat) ?? 0));
    this.receiptsOnLink.add(chat);
    this.record({ type: 'receipt-out', chat, kind: 'delivered', upTo, piggyback: false, ...(timerLateMs > 0 ? { timerLateMs } : {}) });
    this.sendFrame({ type: 'ack', chat, upTo });
  }

  /** True if a message from someone else was rendered above what `sent` reported. */
  private hasUnreported(chat: string, sent: Map<string, number>): boolean {
    return (this.othersUpTo.get(chat) ?? 0) > (sent.get(chat) ?? 0);
  }

  private isVisible(chat: string): boolean {
    return this.foreground && this.openChatId === chat;
  }

  /** Debounced read: the first unread visible message starts the window; later ones ride along. */
  private maybeScheduleRead(chat: string): void {
    if (!this.isVisible(chat)) return;
    if (!this.hasUnreported(chat, this.readSent)) return;
    if (this.readTimers.has(chat)) {
      this.config.metrics.increment('receipts.savedByDebounce');
      return;
    }
    // Injected bug 'swallow-trailing-receipt': the window reports only the seq that opened it;
    // the messages that rode along are never read-receipted (the trailing receipt is lost).
    const leadingUpTo = this.options.swallowTrailingReceipt ? this.store.timeline(chat).watermark : undefined;
    const dueMs = this.config.time.nowMs() + this.options.readDebounceMs;
    const fire = (): void => {
      this.readTimers.delete(chat);
      this.readDue.delete(chat);
      // How late this phone's own timer fired (a busy load generator), so B6 does not blame the server's protocol for it.
      this.sendRead(chat, false, leadingUpTo, Math.max(0, this.config.time.nowMs() - dueMs));
    };
    this.readTimers.set(chat, this.timers.schedule(this.options.readDebounceMs, fire));
    this.readDue.set(chat, { dueMs, fire });
  }

  /**
   * A chat leaves the screen while its read timer is overdue: the timer has not run only because
   * the event loop was busy (a loaded generator), and the chat was on screen for the whole window,
   * so the read goes out now, before the view changes, saying how late it is (as the timer would).
   */
  private sendOverdueRead(chat: string): void {
    const due = this.readDue.get(chat);
    if (!due || this.config.time.nowMs() < due.dueMs) return;
    this.readTimers.get(chat)?.cancel();
    due.fire();
  }

  private cancelRead(chat: string): void {
    this.readTimers.get(chat)?.cancel();
    this.readTimers.delete(chat);
    this.readDue.delete(chat);
  }

  private sendRead(chat: string, force = false, upToAtMost?: number, timerLateMs = 0): void {
    if (!this.linkUp()) return; // as sendAck
    if (!force && !this.isVisible(chat)) return;
    const upTo = force ? (this.readSent.get(chat) ?? 0) : Math.min(this.store.timeline(chat).watermark, upToAtMost ?? Infinity);
    if (upTo <= 0 || (!force && !this.hasUnreported(chat, this.readSent))) return;
    this.noteReadSent(chat, upTo, false, timerLateMs); // before the send, as in sendAck
    this.sendFrame({ type: 'read', chat, upTo });
  }

  private noteReadSent(chat: string, upTo: number, piggyback: boolean, timerLateMs = 0): void {
    this.readSent.set(chat, Math.max(upTo, this.readSent.get(chat) ?? 0));
    this.ackSent.set(chat, Math.max(upTo, this.ackSent.get(chat) ?? 0)); // read implies delivered
    this.receiptsOnLink.add(chat);
    this.record({ type: 'receipt-out', chat, kind: 'read', upTo, piggyback, ...(timerLateMs > 0 ? { timerLateMs } : {}) });
  }

  /** The link died: receipts sent on it may never have reached the server. */
  private receiptsLost(): void {
    for (const chat of this.receiptsOnLink) this.unconfirmed.add(chat);
    this.receiptsOnLink.clear();
  }

  private readonly unconfirmed = new Set<string>();

  /**
   * A frame without a ref was refused with a retryable code: it may have been a receipt, which
   * the server then never saw, and nothing else would ever repeat it (the phone already counts
   * it as sent). Every receipt of this link is repeated after a backoff, or at once when a
   * `resync` says the gateway is back (see onSyncRoundDone).
   */
  private receiptsRefused(): void {
    for (const chat of this.receiptsOnLink) this.unconfirmed.add(chat);
    this.receiptsOnLink.clear();
    if (this.receiptRetryTimer || this.unconfirmed.size === 0) return;
    this.receiptRetryTimer = this.timers.schedule(this.randomRetryDelayMs(this.receiptRetryAttempt++), () => {
      this.receiptRetryTimer = undefined;
      if (this.phase === 'ready') this.resendUnconfirmedReceipts();
    });
  }

  /** Repeats every receipt the server may not have seen (cumulative, so repeats are harmless). */
  private resendUnconfirmedReceipts(): void {
    const unconfirmed = [...this.unconfirmed];
    this.unconfirmed.clear();
    for (const chat of unconfirmed) {
      if ((this.readSent.get(chat) ?? 0) > 0) this.sendRead(chat, true);
      this.sendAck(chat, (this.ackSent.get(chat) ?? 0) > (this.readSent.get(chat) ?? 0));
    }
  }

  /** After a reconnect: repeat unconfirmed receipts (idempotent) and send those that were skipped. */
  private reconcileReceipts(): void {
    this.receiptRetryAttempt = 0;
    this.resendUnconfirmedReceipts();
    for (const chat of this.store.chats()) {
      if (this.hasUnreported(chat, this.ackSent)) this.scheduleAck(chat);
      this.maybeScheduleRead(chat);
    }
  }

  // ---------------------------------------------------------------- plumbing

  private sendFrame(frame: ClientFrame): void {
    this.sendText(JSON.stringify(frame), frame.type);
  }

  private sendText(text: string, type: string): void {
    if (!this.link) return;
    this.link.send(text);
    this.config.metrics.increment(`frames.out.${type}`);
  }

  private nextClientMsgId(): string {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += ALPHABET[this.random.nextInt(ALPHABET.length)];
    // The run start makes ids unique across runs against the same (persistent) server.
    return `${this.config.device}-${this.config.startMs.toString(36)}-${++this.sendCounter}-${suffix}`;
  }

  private isOwnDevice(from: string, fromDevice: string): boolean {
    return from === this.config.user && fromDevice === this.config.device;
  }

  /** What is on screen: the read-receipt checks (B6) owe a read only for a visible chat. */
  private recordView(): void {
    this.record(this.openChatId === undefined ? { type: 'view', foreground: this.foreground } : { type: 'view', foreground: this.foreground, chat: this.openChatId });
  }

  private record(event: DistributiveOmit<HistoryEvent, 't' | 'p'>): void {
    if (this.phase === 'stopped') return;
    this.config.history.record({ ...event, t: this.config.time.nowMs() - this.config.startMs, p: this.p } as HistoryEvent);
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Bytes kept free in a sync or presence frame for everything but its entries (type, id, epoch, listedOnly). */
export const SYNC_FRAME_OVERHEAD_BYTES = 256;
const utf8 = new TextEncoder();

/**
 * The first chats of `chats` that fit one sync frame within the announced limits: at most
 * `syncChatsMax` entries and `frameBytesMax` bytes, always at least one. Without limits, all.
 */
export function syncPage(chats: readonly string[], watermarks: Record<string, number>, limits: HelloLimits | undefined): string[] {
  // "id":n, per chat
  return firstThatFit(chats, (chat) => utf8.encode(JSON.stringify(chat)).length + String(watermarks[chat] ?? 0).length + 2, limits?.syncChatsMax, limits?.frameBytesMax);
}

/** The first ids of `ids` that fit one presence query: at most `countMax` and `frameBytesMax` bytes, at least one. */
export function idPage(ids: readonly string[], countMax: number | undefined, frameBytesMax: number | undefined): string[] {
  return firstThatFit(ids, (id) => utf8.encode(JSON.stringify(id)).length + 1, countMax, frameBytesMax); // "id",
}

function firstThatFit(items: readonly string[], bytesOf: (item: string) => number, countMax = Infinity, frameBytesMax = Infinity): string[] {
  const page: string[] = [];
  let bytes = SYNC_FRAME_OVERHEAD_BYTES;
  for (const item of items) {
    const itemBytes = bytesOf(item);
    if (page.length > 0 && (page.length >= countMax || bytes + itemBytes > frameBytesMax)) break;
    page.push(item);
    bytes += itemBytes;
  }
  return page;
}

/** Per chat of a sync result, what the sync checks (A3, C1, C3) need: head, truncation, the seq range returned. */
function summarizeSyncChat(chat: SyncChatResult): SyncChatSummary {
  const seqs = chat.messages.map((m) => m.seq);
  const inOrder = seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!);
  return { chat: chat.chat, head: chat.head, hasMore: chat.hasMore, count: seqs.length, first: seqs[0] ?? 0, last: seqs[seqs.length - 1] ?? 0, inOrder };
}

function isRetryable(code: string): boolean {
  return (ERROR_CODES as Record<string, { retry: boolean } | undefined>)[code]?.retry ?? false;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
