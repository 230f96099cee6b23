/**
 * One run's history: an append-only list of events, in the shape PROPERTIES.md describes
 * (Jepsen-style invoke / ok / fail / info for operations, observations, and oracle events
 * for the harness's ground truth). Checkers read it; they never drive the run.
 *
 * `t` is ms since the run started (on the run's clock); `p` is the process: a device
 * (`user/device`) or `harness`.
 */
export type HistoryEvent =
  // operations
  | { t: number; p: string; type: 'invoke'; op: 'send'; chat: string; clientMsgId: string; body: string }
  | { t: number; p: string; type: 'ok'; op: 'send'; chat: string; clientMsgId: string; seq: number; msgId: string }
  | { t: number; p: string; type: 'fail'; op: 'send'; chat: string; clientMsgId: string; code: string }
  | { t: number; p: string; type: 'info'; op: 'send'; chat: string; clientMsgId: string; reason: string }
  /** `watermarks`: chat -> last seq held, as sent (C1 compares the answer with it). */
  | { t: number; p: string; type: 'invoke'; op: 'sync'; mode: 'watermark' | 'token'; id: string; watermarks?: Record<string, number>; token?: string }
  /** `chats`: per chat of the answer, its head and seq range (A3, C1, C3). */
  /** Token mode: `token` as returned, `events` the inbox positions of the answer (C2 chains them with the request's token). */
  | { t: number; p: string; type: 'ok'; op: 'sync'; mode: 'watermark' | 'token'; id: string; messages: number; hasMore: boolean; chats?: SyncChatSummary[]; token?: string; events?: InboxRangeSummary }
  // observations
  /** `storedAt`: when the server stored the message (its `ts`), in ms since the run start. */
  | { t: number; p: string; type: 'render'; chat: string; seq: number; from: string; clientMsgId: string; via: 'push' | 'sync'; storedAt?: number }
  | { t: number; p: string; type: 'tick'; chat: string; clientMsgId: string; seq: number; tick: 'sent' | 'delivered' | 'read' }
  /** `timerLateMs`: the phone's own debounce (read) or coalescing (delivered) timer fired this late (a busy load generator, not the system under test). */
  | { t: number; p: string; type: 'receipt-out'; chat: string; kind: 'delivered' | 'read'; upTo: number; piggyback: boolean; timerLateMs?: number }
  /** `askedAt`: for a presence_result answer, when the query was sent (the answer is a snapshot taken in between). */
  | { t: number; p: string; type: 'presence-seen'; user: string; online: boolean; askedAt?: number }
  /** A receipt frame as it arrived (before the phone drops a stale one): B4 checks the watermark only grows. */
  | { t: number; p: string; type: 'receipt-in'; chat: string; user: string; kind: 'delivered' | 'read'; upTo: number }
  /** The screen changed: app foreground or not, and the open chat (B6 owes a read only for a visible chat). */
  | { t: number; p: string; type: 'view'; foreground: boolean; chat?: string }
  /** A typing frame went out (E1: every typing notice seen traces back to one). */
  | { t: number; p: string; type: 'typing-out'; chat: string }
  | { t: number; p: string; type: 'typing-seen'; chat: string; user: string }
  | { t: number; p: string; type: 'gap'; chat: string; expected: number; got: number }
  | { t: number; p: string; type: 'connect'; gateway: string }
  /** Hello and every sync after it done: from here the phone sends its outbox and receipts (B6 counts read lateness from here). */
  | { t: number; p: string; type: 'ready' }
  | { t: number; p: string; type: 'disconnect'; code: number; reason: string }
  | { t: number; p: string; type: 'error-frame'; code: string; ref?: string }
  // oracle (harness ground truth)
  | { t: number; p: 'harness'; type: 'oracle'; what: 'link-up' | 'link-down'; device: string }
  /** A connection attempt of the device went out on a working network: the server will hold it, whether or not the phone ever gets its hello. */
  | { t: number; p: 'harness'; type: 'oracle'; what: 'link-dial'; device: string }
  /**
   * The device's whole network froze (frames held both ways, released in order at the end; the
   * link stays up) and thawed: one pair per frozen stretch (a stall starting inside another
   * extends it), the end at the stall's end or at the heal. Not a link change.
   */
  | { t: number; p: 'harness'; type: 'oracle'; what: 'stall-start' | 'stall-end'; device: string }
  | { t: number; p: 'harness'; type: 'oracle'; what: 'member'; chat: string; user: string; joinedAtSeq: number }
  /** Scenario events leave-group and kick-member: `t` when the request went out, `doneAtMs` when the server answered (the user was out of the roster by then). */
  | { t: number; p: 'harness'; type: 'oracle'; what: 'member-removed'; chat: string; user: string; by: string; doneAtMs: number }
  | { t: number; p: 'harness'; type: 'oracle'; what: 'fault-start' | 'fault-end'; fault: string }
  | { t: number; p: 'harness'; type: 'oracle'; what: 'phase'; phase: 'load' | 'heal' | 'quiesce' | 'done' };

/** The inbox positions of a token sync answer: `first`/`last` are 0 when `count` is 0. */
export interface InboxRangeSummary {
  count: number;
  first: number;
  last: number;
  inOrder: boolean;
}

/** One chat of a sync answer: `first`/`last` are 0 when `count` is 0. */
export interface SyncChatSummary {
  chat: string;
  head: number;
  hasMore: boolean;
  count: number;
  first: number;
  last: number;
  inOrder: boolean;
}

/** Where phones and the harness write their events. Must not throw and must be cheap. */
export interface HistoryRecorder {
  record(event: HistoryEvent): void;
}
