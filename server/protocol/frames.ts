// Wire protocol v1: JSON text frames over WebSocket, subprotocol "chatsim.v1".
// docs/protocol.md describes every frame; this file is the source of truth for their shapes.
import type { ErrorCode } from './errorCodes.ts';
import type { CursorKind, InboxEvent } from '../ports/MessageStore.ts';
import type { HelloLimits } from './limits.ts';

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = 'chatsim.v1';

// ---- client to server ----
export interface SendFrame { type: 'send'; chat: string; clientMsgId: string; body: string }
/** Cumulative delivery ack: every message of the chat with seq <= upTo was received. */
export interface AckFrame { type: 'ack'; chat: string; upTo: number }
/** Cumulative read receipt: every message with seq <= upTo was shown. */
export interface ReadFrame { type: 'read'; chat: string; upTo: number }
/** "User is typing"; `read` piggybacks a read receipt with exactly the effect of a ReadFrame. */
export interface TypingFrame { type: 'typing'; chat: string; read?: number }
/**
 * Sync by watermarks (`chats`: chat -> last seq held; chats the user belongs to but not listed
 * start from 0) or by token (`token` from an earlier sync result). Exactly one of the two.
 */
export interface SyncFrame {
  type: 'sync'; id: string; chats?: Record<string, number>; token?: string; epoch?: string;
  /** With `chats`: answer for the listed chats only (a client paging over more than syncChatsMax chats). */
  listedOnly?: boolean;
}
export interface PresenceQueryFrame { type: 'presence_query'; id: string; users: string[] }
export interface PingFrame { type: 'ping' }

export type ClientFrame = SendFrame | AckFrame | ReadFrame | TypingFrame | SyncFrame | PresenceQueryFrame | PingFrame;

// ---- server to client ----
export interface HelloFrame {
  type: 'hello'; v: number; user: string; device: string; connection: string;
  heartbeatIntervalMs: number; epoch?: string;
  /** What a client must keep within (frame size, entries per sync and presence query, rates). */
  limits?: HelloLimits;
}
/** The server ACK: the message is durable in the store. `ref` is the clientMsgId. */
export interface SentFrame { type: 'sent'; ref: string; chat: string; seq: number; msgId: string; ts: number }
export interface MessageFrame {
  type: 'message'; chat: string; seq: number; msgId: string; from: string; fromDevice: string;
  clientMsgId: string; body: string; ts: number;
}
/** Tick update for the receiver as sender. `user` is the reader in a direct chat, "*" for a group aggregate. */
export interface ReceiptFrame { type: 'receipt'; chat: string; user: string; kind: CursorKind; upTo: number }
export interface TypingNotice { type: 'typing'; chat: string; user: string }
export interface PresenceFrame { type: 'presence'; user: string; online: boolean; lastSeenMs?: number }
export interface PresenceResultFrame { type: 'presence_result'; ref: string; users: Array<{ user: string; online: boolean; lastSeenMs?: number }> }
export interface SyncChatResult { chat: string; messages: MessageFrame[]; head: number; hasMore: boolean; receipts: ReceiptFrame[] }
export interface SyncResultFrame {
  type: 'sync_result'; ref: string; epoch: string; hasMore: boolean;
  /** Watermark sync: per chat. */
  chats?: SyncChatResult[];
  /** Token sync: events after the token, and the token to use next. */
  events?: Array<{ position: number; event: InboxEvent }>;
  token?: string;
}
/** `correlationId` names the incident in the server's log (only with FRAME_FAILED). */
export interface ErrorFrame { type: 'error'; code: ErrorCode; message: string; ref?: string; correlationId?: string }
export interface PongFrame { type: 'pong' }
/**
 * The gateway may have missed deliveries for this connection. `broker-link-restored` (its broker
 * link was down): sync now, then ask presence again. `presence-gap` (a numbered presence push
 * never arrived): ask presence again; a client that syncs on every resync is still right.
 */
export interface ResyncFrame { type: 'resync'; reason: 'broker-link-restored' | 'presence-gap' }

export type ServerFrame =
  | HelloFrame | SentFrame | MessageFrame | ReceiptFrame | TypingNotice | PresenceFrame
  | PresenceResultFrame | SyncResultFrame | ErrorFrame | PongFrame | ResyncFrame;

/** The exact text of a ping frame. The gateway answers it itself, without the chat servers. */
export const PING_TEXT = '{"type":"ping"}';
export const PONG_TEXT = '{"type":"pong"}';
