/**
 * The one table of error codes (in `error` frames and HTTP bodies) and WebSocket close codes.
 * `retry: true` means the same request may succeed later unchanged (after a backoff);
 * `retry: false` means it will fail again until the client changes something.
 * The phone's reconnect and resend logic reads this table; docs/protocol.md mirrors it.
 */
export const ERROR_CODES = {
  BAD_FRAME: { retry: false, text: 'the frame is not a JSON object in a text frame (or nests too deep)' },
  UNKNOWN_TYPE: { retry: false, text: 'the frame type is not part of protocol v1' },
  INVALID_FIELD: { retry: false, text: 'a field is missing or has the wrong type or range' },
  FRAME_TOO_LARGE: { retry: false, text: 'the frame exceeds frameBytesMax; it was dropped' },
  BODY_TOO_LARGE: { retry: false, text: 'the message body exceeds bodyBytesMax' },
  NOT_MEMBER: { retry: false, text: 'the chat does not exist or the user is not a member (the two are not told apart)' },
  CURSOR_AHEAD: { retry: false, text: 'the receipt points past the chat head' },
  CLIENT_MSG_ID_REUSED: { retry: false, text: 'this clientMsgId was already used for a different message' },
  SYNC_RESET: { retry: false, text: 'the sync position belongs to an old epoch; start over with an empty sync' },
  TOO_MANY_USERS: { retry: false, text: 'the presence query lists more users than presenceQueryUsersMax' },
  RATE_LIMITED: { retry: true, text: 'more frames per second than framesPerSecondMax; the frame was dropped' },
  TOO_MANY_PENDING: { retry: true, text: 'pendingFramesMax frames of this connection are still being processed; the frame was dropped' },
  UNAVAILABLE: { retry: true, text: 'a backend is unavailable; try again' },
  INTERNAL: { retry: true, text: 'an unexpected server error; try again' },
  FRAME_FAILED: { retry: true, text: 'processing this frame failed poisonAttemptsMax times and the server gave up on it; it may be sent again (quote correlationId when reporting it)' },
  // HTTP only
  BAD_REQUEST: { retry: false, text: 'the request body or parameters are invalid' },
  BAD_CREDENTIALS: { retry: false, text: 'unknown user or wrong password' },
  BAD_TOKEN: { retry: false, text: 'the token is missing, malformed or badly signed' },
  TOKEN_EXPIRED: { retry: false, text: 'the token expired; log in again' },
  USER_EXISTS: { retry: false, text: 'a user with this id already exists' },
  NOT_FOUND: { retry: false, text: 'no such resource' },
  FORBIDDEN: { retry: false, text: 'not allowed for this user' },
  PAYLOAD_TOO_LARGE: { retry: false, text: 'the HTTP body exceeds httpBodyBytesMax' },
  UNSUPPORTED_MEDIA_TYPE: { retry: false, text: 'a request body must be sent with content-type application/json' },
  TOO_MANY_REQUESTS: { retry: true, text: 'too many registrations or failed logins; retry after the Retry-After header\'s seconds' },
  TOO_MANY_DEVICES: { retry: true, text: 'the user already has devicesPerUserMax devices connected' },
  NOT_FRIENDS: { retry: false, text: 'only friends (a request the other user accepted) can be added to a chat' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** WebSocket close codes the gateway uses. 1000-1015 are RFC 6455; 4000-4999 are ours. */
export const CLOSE_CODES = {
  NORMAL: { code: 1000, retry: false, text: 'closed on purpose' },
  GOING_AWAY: { code: 1001, retry: true, text: 'the gateway is shutting down; reconnect (to another gateway)' },
  PROTOCOL_ERROR: { code: 1002, retry: false, text: 'WebSocket protocol violation' },
  MESSAGE_TOO_BIG: { code: 1009, retry: true, text: 'a frame exceeded frameBytesHardMax; reconnect and do not resend it' },
  TOKEN_EXPIRED: { code: 4001, retry: false, text: 'the token expired while connected; log in again, then reconnect' },
  UNSUPPORTED_PROTOCOL: { code: 4002, retry: false, text: 'no supported subprotocol (chatsim.v1) was offered' },
  HEARTBEAT_TIMEOUT: { code: 4408, retry: true, text: 'no frame arrived within heartbeatTimeoutMs' },
  RATE_LIMIT_FLOOD: { code: 4429, retry: true, text: 'the connection kept flooding past framesPerSecondMax; reconnect after a backoff' },
  SLOW_CONSUMER: { code: 4508, retry: true, text: 'the send buffer exceeded sendBufferBytesMax; reconnect and sync' },
  REPLACED: { code: 4409, retry: false, text: 'a newer connection of the same user and device replaced this one' },
} as const;

export function isRetryableClose(code: number): boolean {
  for (const entry of Object.values(CLOSE_CODES)) if (entry.code === code) return entry.retry;
  // Abnormal closure (1006) and anything unknown: the link died, so reconnecting is right.
  return true;
}
