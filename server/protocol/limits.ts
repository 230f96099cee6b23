/**
 * Every limit of the reference cluster, with its unit last and its default.
 * docs/limits.md is generated from nothing: keep it in step with this file by hand.
 */
export interface ServerLimits {
  /** Largest client frame the gateway forwards; a larger one gets FRAME_TOO_LARGE and is dropped. */
  frameBytesMax: number;
  /** Largest frame the WebSocket layer reads at all; past it the connection closes with 1009. */
  frameBytesHardMax: number;
  /** Largest message body, in UTF-8 bytes. */
  bodyBytesMax: number;
  /** Largest number of members in a group chat. */
  groupMembersMax: number;
  /** Sustained client frames per second per connection (token bucket refill rate). */
  framesPerSecondMax: number;
  /** Token bucket size: frames a connection may send in one burst. */
  framesBurstMax: number;
  /** Frames dropped for rate limiting within one second before the connection is closed (4429). */
  rateLimitDropsBeforeCloseMax: number;
  /** Client frames of one connection queued for chat servers and not yet processed. */
  pendingFramesMax: number;
  /** Bytes buffered for sending to one connection before it is closed as a slow consumer (4508). */
  sendBufferBytesMax: number;
  /** How often a client is told to send a ping. */
  heartbeatIntervalMs: number;
  /** A connection that sends nothing for this long is closed (4408): finds half-open links. */
  heartbeatTimeoutMs: number;
  /** How often the gateway looks for connections past their heartbeat timeout. */
  heartbeatSweepIntervalMs: number;
  /** Presence entry time to live; refreshed by heartbeats. */
  presenceTtlMs: number;
  /** How long the offline broadcast waits; a reconnect within it cancels the broadcast. */
  presenceDebounceMs: number;
  /** How often the presence service sweeps expired entries. */
  presenceSweepIntervalMs: number;
  /** Most users in one presence query. */
  presenceQueryUsersMax: number;
  /**
   * Oldest a typing frame may be (gateway enqueue to the chat server's handling) and still be
   * announced: an older one is dropped (its piggybacked read still applies), since clients time
   * an indicator out (6 s advised) and a late notice would show someone typing who stopped.
   */
  typingNoticeAgeMaxMs: number;
  /** Most messages in one sync result (over all chats). */
  syncMessagesMax: number;
  /** Most inbox events in one sync-by-token result (and most messages copied into the inbox per token sync). */
  syncEventsMax: number;
  /**
   * Largest sync result, in UTF-8 bytes of its JSON frame (watermark and token sync alike); the
   * rest comes by `hasMore`. Kept well under `sendBufferBytesMax`, or the gateway would cut the
   * answer as a slow consumer. A result carrying a single message (or event) that does not fit
   * alone may pass it, so that every page makes progress (server/chat/syncPages.ts).
   */
  syncResultBytesMax: number;
  /** Most messages copied into a member's inbox when they are removed from a chat (older ones are left out). */
  inboxCopyOnLeaveMessagesMax: number;
  /** Most chats in one watermark sync request. */
  syncChatsMax: number;
  /** Most messages in one HTTP history page. */
  historyPageMax: number;
  /** Lifetime of a login token. */
  tokenTtlMs: number;
  /** Largest HTTP request body. */
  httpBodyBytesMax: number;
  /** Longest clientMsgId, in characters. */
  clientMsgIdCharsMax: number;
  /**
   * Devices of one user connected at once (distinct device ids in the presence store, checked
   * at upgrade); a connection of one more device is refused with 429 TOO_MANY_DEVICES.
   */
  devicesPerUserMax: number;
  /** POST /v1/users per client address: burst size (requests). */
  registerPerAddressBurstMax: number;
  /** POST /v1/users per client address: sustained requests per minute. */
  registerPerAddressPerMinuteMax: number;
  /** Failed logins per user name before every login of that name gets 429: burst size. */
  loginFailuresPerUserBurstMax: number;
  /** Failed logins per user name: sustained failures per minute. */
  loginFailuresPerUserPerMinuteMax: number;
  /** Failed logins per client address before every login from it gets 429: burst size. */
  loginFailuresPerAddressBurstMax: number;
  /** Failed logins per client address: sustained failures per minute. */
  loginFailuresPerAddressPerMinuteMax: number;
  /** Keys (addresses, user names) each HTTP rate limiter remembers; the least recently used is forgotten first. */
  rateLimitKeysMax: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  frameBytesMax: 64 * 1024,
  frameBytesHardMax: 1024 * 1024,
  bodyBytesMax: 16 * 1024,
  groupMembersMax: 1024,
  framesPerSecondMax: 50,
  framesBurstMax: 100,
  rateLimitDropsBeforeCloseMax: 200,
  pendingFramesMax: 64,
  sendBufferBytesMax: 1024 * 1024,
  heartbeatIntervalMs: 25_000,
  heartbeatTimeoutMs: 60_000,
  heartbeatSweepIntervalMs: 1_000,
  presenceTtlMs: 90_000,
  presenceDebounceMs: 30_000,
  presenceSweepIntervalMs: 1_000,
  presenceQueryUsersMax: 500,
  typingNoticeAgeMaxMs: 3_000,
  syncMessagesMax: 500,
  syncEventsMax: 500,
  syncResultBytesMax: 256 * 1024,
  inboxCopyOnLeaveMessagesMax: 10_000,
  syncChatsMax: 1_000,
  historyPageMax: 200,
  tokenTtlMs: 24 * 60 * 60 * 1000,
  httpBodyBytesMax: 256 * 1024,
  clientMsgIdCharsMax: 128,
  devicesPerUserMax: 10,
  registerPerAddressBurstMax: 100,
  registerPerAddressPerMinuteMax: 60,
  loginFailuresPerUserBurstMax: 10,
  loginFailuresPerUserPerMinuteMax: 6,
  loginFailuresPerAddressBurstMax: 100,
  loginFailuresPerAddressPerMinuteMax: 60,
  rateLimitKeysMax: 100_000,
});

export function resolveLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  return { ...DEFAULT_LIMITS, ...overrides };
}

/**
 * The limits a client must keep within, announced in `hello.limits` (docs/protocol.md, section
 * 1): what one frame may hold and how many entries a sync or a presence query may list, so a
 * client pages instead of being refused.
 */
export interface HelloLimits {
  frameBytesMax: number;
  bodyBytesMax: number;
  clientMsgIdCharsMax: number;
  syncChatsMax: number;
  syncMessagesMax: number;
  syncEventsMax: number;
  presenceQueryUsersMax: number;
  framesPerSecondMax: number;
  framesBurstMax: number;
  pendingFramesMax: number;
  heartbeatTimeoutMs: number;
}

export function helloLimits(l: ServerLimits): HelloLimits {
  return {
    frameBytesMax: l.frameBytesMax, bodyBytesMax: l.bodyBytesMax, clientMsgIdCharsMax: l.clientMsgIdCharsMax,
    syncChatsMax: l.syncChatsMax, syncMessagesMax: l.syncMessagesMax, syncEventsMax: l.syncEventsMax,
    presenceQueryUsersMax: l.presenceQueryUsersMax, framesPerSecondMax: l.framesPerSecondMax,
    framesBurstMax: l.framesBurstMax, pendingFramesMax: l.pendingFramesMax, heartbeatTimeoutMs: l.heartbeatTimeoutMs,
  };
}
