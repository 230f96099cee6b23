// The seam between a phone's app model (simulator/phone) and a wire protocol. The app speaks
// intents (send, acknowledge delivery, read, sync from a position, query presence, type) and
// hears events (stored with a server position, message, receipt, presence, sync page). A
// driver turns one into frames and frames into the other; chatsim.v1 is the first
// (simulator/drivers/chatsimV1), and a driver for a protocol nobody here wrote (XMPP) declares
// in its capabilities what it cannot carry, so checkers answer `unknown` for it.
import type { MetricsSink } from '../metrics/MetricsSink.ts';
import type { DriverCapabilities } from './DriverCapabilities.ts';

export type { DriverCapabilities, DriverCapability } from './DriverCapabilities.ts';

/** A message as the app holds it: its place in the chat comes from the server (`seq`). */
export interface WireMessage {
  chat: string;
  seq: number;
  msgId: string;
  from: string;
  fromDevice: string;
  clientMsgId: string;
  body: string;
  /** When the server stored it (server clock, ms since the epoch). */
  ts: number;
}

/** A cumulative receipt: every message of `chat` up to `upTo` reached `kind` for `user` ("*": a group aggregate). */
export interface WireReceipt {
  chat: string;
  user: string;
  kind: 'delivered' | 'read';
  upTo: number;
}

// ---------------------------------------------------------------- intents (app to server)

export type PhoneIntent =
  /** Store this message once, however often it is repeated with the same clientMsgId. */
  | { kind: 'send'; chat: string; clientMsgId: string; body: string }
  /** Every message of the chat up to `upTo` arrived on this device. */
  | { kind: 'ack'; chat: string; upTo: number }
  /** Every message of the chat up to `upTo` was shown. */
  | { kind: 'read'; chat: string; upTo: number }
  /** The user types; `readUpTo` carries a read receipt along with the same effect as `read`. */
  | { kind: 'typing'; chat: string; readUpTo?: number }
  /** Everything after the positions held (per chat), or after `token` (the user's inbox). */
  | SyncIntent
  | { kind: 'presence-query'; id: string; users: string[] }
  /** Keeps the link alive and proves it is not half-open. */
  | { kind: 'ping' }
  /**
   * Optional: the app went to the background (`foreground: false`) or came back. Sent when the
   * view changes and again at each session's start (the server knows nothing of the last one).
   * A protocol that can tell its server (XMPP: XEP-0352 client state) does; one that cannot
   * (chatsim.v1) ignores it: a driver never refuses it and nothing answers it.
   */
  | AppStateIntent;

export type AppStateIntent = { kind: 'app-state'; foreground: boolean };

export type SyncIntent =
  | { kind: 'sync'; mode: 'positions'; id: string; positions: Record<string, number>; epoch?: string; listedOnly?: boolean }
  | { kind: 'sync'; mode: 'token'; id: string; token: string };

// ---------------------------------------------------------------- events (server to app)

/** One chat of a sync page by positions. */
export interface SyncChatPage {
  chat: string;
  messages: WireMessage[];
  /** The chat's highest position when the server answered. */
  head: number;
  hasMore: boolean;
  receipts: WireReceipt[];
}

/** One entry of the user's inbox (a token sync), with its inbox position. */
export type InboxEntry =
  | { position: number; kind: 'message'; message: WireMessage }
  | { position: number; kind: 'receipt'; receipt: WireReceipt }
  | { position: number; kind: 'member-added'; chat: string; user: string }
  | { position: number; kind: 'other' };

/** Limits the server announced for a request: how much of a list fits one request. */
export interface RequestPaging {
  /** The first chats of `chats` (with their positions) that fit one sync request; at least one. */
  chatsPage(chats: readonly string[], positions: Record<string, number>): string[];
  /** The first users of `users` that fit one presence query; at least one. */
  usersPage(users: readonly string[]): string[];
}

/** Paging for a protocol (or a server) without limits: every list fits one request. */
export const UNLIMITED_PAGING: RequestPaging = Object.freeze({ chatsPage: (chats: readonly string[]) => [...chats], usersPage: (users: readonly string[]) => [...users] });

export type PhoneEvent =
  /** The session is up (the server greeted this device): intents flow from now on. */
  | { kind: 'session'; heartbeatIntervalMs: number; paging: RequestPaging }
  /** An own message is stored at `seq` (the server's order). `clientMsgId` names it. */
  | { kind: 'stored'; clientMsgId: string; chat: string; seq: number; msgId: string }
  | { kind: 'message'; message: WireMessage }
  | { kind: 'receipt'; receipt: WireReceipt }
  | { kind: 'typing'; chat: string; user: string }
  | { kind: 'presence'; user: string; online: boolean }
  | { kind: 'presence-result'; ref: string; users: Array<{ user: string; online: boolean }> }
  /** One answer to a sync: per chat (a sync by positions) or inbox entries and the next token (a sync by token). */
  | { kind: 'sync-page'; ref: string; epoch: string; hasMore: boolean; chats: SyncChatPage[]; entries: InboxEntry[]; token?: string }
  /**
   * The server refused an intent (`ref`: the id of a send or sync; absent for one without an id).
   * `retryable`: the same intent may succeed later. `positionsGone`: a sync's positions belong
   * to a store that no longer exists; start over from nothing.
   */
  | { kind: 'refused'; code: string; ref?: string; retryable: boolean; positionsGone: boolean }
  /** The server may have lost pushes for this session: `presence` only, or messages and receipts too. */
  | { kind: 'resync'; scope: 'presence' | 'messages' };

/** How a session ended: `retryable` says whether reconnecting may help; `goingAway`: the server drains. */
export interface SessionClose {
  code: number;
  reason: string;
  retryable: boolean;
  goingAway: boolean;
}

export interface SessionHandlers {
  /** The transport is connected (the session itself begins with a `session` event). */
  onOpen(): void;
  /**
   * Anything arrived, even what the driver could not read: the link is alive. False: the app
   * no longer listens to this session, and the frame is dropped unread.
   */
  onInbound(): boolean;
  onEvent(event: PhoneEvent): void;
  /** Exactly once; nothing arrives afterwards. */
  onClose(close: SessionClose): void;
}

/**
 * One connection to one endpoint.
 * Contract: `send` on a link that is not open is a no-op (the app repeats what matters);
 * `close` and `abort` end in `onClose`, which may be reported from inside `open`, `send` or `abort`.
 */
export interface DriverSession {
  send(intent: PhoneIntent): void;
  close(code: number, reason: string): void;
  abort(): void;
}

export interface PhoneDriver {
  readonly protocol: string;
  readonly capabilities: DriverCapabilities;
  /** Starts connecting at once, never throws; the outcome arrives through `handlers`. */
  open(endpoint: string, token: string, metrics: MetricsSink, handlers: SessionHandlers): DriverSession;
}
