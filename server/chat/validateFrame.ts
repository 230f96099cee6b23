import type { ErrorCode } from '../protocol/errorCodes.ts';
import type { ClientFrame } from '../protocol/frames.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import { JSON_DEPTH_MAX, parseJsonBounded } from '../protocol/boundedJson.ts';
import { CHAT_ID_RULE, ID_RULE, isChatId, isId } from '../protocol/ids.ts';

export type Validation = { ok: true; frame: ClientFrame } | { ok: false; code: ErrorCode; message: string; ref?: string };

/** Longest request id (`id` of sync and presence_query), in characters. */
const TEXT_CHARS_MAX = 128;

/** Most characters of an unknown `type` string quoted back in the UNKNOWN_TYPE message. */
const TYPE_ECHO_CHARS_MAX = 40;

/**
 * Parses and validates one client frame. Never throws: every defect is a coded value. Nothing
 * of the frame is serialised or recursed into: JSON deeper than JSON_DEPTH_MAX is refused
 * before parsing, and error messages quote only short strings.
 */
export function validateFrame(text: string, limits: ServerLimits): Validation {
  const parsed = parseJsonBounded(text);
  if (!parsed.ok) {
    const message = parsed.reason === 'too-deep' ? `the frame nests deeper than ${JSON_DEPTH_MAX} levels` : 'the frame is not valid JSON';
    return { ok: false, code: 'BAD_FRAME', message };
  }
  const raw = parsed.value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, code: 'BAD_FRAME', message: 'the frame is not a JSON object' };
  const f = raw as Record<string, unknown>;
  const ref = typeof f.clientMsgId === 'string' ? f.clientMsgId : typeof f.id === 'string' ? f.id : undefined;
  const bad = (field: string, why: string): Validation => ({ ok: false, code: 'INVALID_FIELD', message: `${field}: ${why}`, ...(ref !== undefined ? { ref } : {}) });
  switch (f.type) {
    case 'send': {
      if (!isChatId(f.chat)) return bad('chat', `must be ${CHAT_ID_RULE}`);
      if (!isText(f.clientMsgId, limits.clientMsgIdCharsMax)) return bad('clientMsgId', `must be a string of 1 to ${limits.clientMsgIdCharsMax} characters`);
      if (typeof f.body !== 'string') return bad('body', 'must be a string');
      if (Buffer.byteLength(f.body) > limits.bodyBytesMax) return { ok: false, code: 'BODY_TOO_LARGE', message: `body exceeds bodyBytesMax (${limits.bodyBytesMax} bytes)`, ref: f.clientMsgId };
      return { ok: true, frame: { type: 'send', chat: f.chat, clientMsgId: f.clientMsgId, body: f.body } };
    }
    case 'ack':
    case 'read': {
      if (!isChatId(f.chat)) return bad('chat', `must be ${CHAT_ID_RULE}`);
      if (!isSeq(f.upTo)) return bad('upTo', 'must be a non-negative integer');
      return { ok: true, frame: { type: f.type, chat: f.chat, upTo: f.upTo } };
    }
    case 'typing': {
      if (!isChatId(f.chat)) return bad('chat', `must be ${CHAT_ID_RULE}`);
      if (f.read !== undefined && !isSeq(f.read)) return bad('read', 'must be a non-negative integer');
      return { ok: true, frame: f.read === undefined ? { type: 'typing', chat: f.chat } : { type: 'typing', chat: f.chat, read: f.read } };
    }
    case 'sync':
      return validateSync(f, limits, bad);
    case 'presence_query': {
      if (!isText(f.id)) return bad('id', 'must be a non-empty string');
      if (!Array.isArray(f.users) || !f.users.every((u) => isId(u))) return bad('users', `must be an array of user ids (${ID_RULE})`);
      if (f.users.length > limits.presenceQueryUsersMax) return { ok: false, code: 'TOO_MANY_USERS', message: `at most ${limits.presenceQueryUsersMax} users`, ref: f.id };
      return { ok: true, frame: { type: 'presence_query', id: f.id, users: f.users as string[] } };
    }
    case 'ping':
      return { ok: true, frame: { type: 'ping' } };
    default:
      return { ok: false, code: 'UNKNOWN_TYPE', message: `unknown frame type ${describeType(f.type)}`, ...(ref !== undefined ? { ref } : {}) };
  }
}

function validateSync(f: Record<string, unknown>, limits: ServerLimits, bad: (field: string, why: string) => Validation): Validation {
  if (!isText(f.id)) return bad('id', 'must be a non-empty string');
  if (f.epoch !== undefined && typeof f.epoch !== 'string') return bad('epoch', 'must be a string');
  const hasChats = f.chats !== undefined;
  const hasToken = f.token !== undefined;
  if (hasChats === hasToken) return bad('chats/token', 'give exactly one of chats (watermarks) or token');
  if (hasToken) {
    if (typeof f.token !== 'string' || f.token.length > 512) return bad('token', 'must be a sync token string (empty for the start)');
    return { ok: true, frame: { type: 'sync', id: f.id, token: f.token } };
  }
  if (typeof f.chats !== 'object' || f.chats === null || Array.isArray(f.chats)) return bad('chats', 'must be an object of chat id to seq');
  const entries = Object.entries(f.chats as Record<string, unknown>);
  if (entries.length > limits.syncChatsMax) return bad('chats', `at most ${limits.syncChatsMax} chats`);
  // Keyed by untrusted ids, so no prototype: chats named like Object.prototype's members
  // ("__proto__", "constructor") must read as themselves, not as inherited values.
  const chats: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [chat, seq] of entries) {
    if (!isChatId(chat)) return bad('chats', `every key must be ${CHAT_ID_RULE}`);
    if (!isSeq(seq)) return bad(`chats.${chat}`, 'must be a non-negative integer');
    chats[chat] = seq;
  }
  if (f.listedOnly !== undefined && typeof f.listedOnly !== 'boolean') return bad('listedOnly', 'must be a boolean');
  const frame = {
    type: 'sync' as const, id: f.id, chats,
    ...(typeof f.epoch === 'string' ? { epoch: f.epoch } : {}), ...(f.listedOnly === true ? { listedOnly: true } : {}),
  };
  return { ok: true, frame };
}

/** A short, safe description of a client's `type` value: the string itself (cut short), or its kind. */
function describeType(type: unknown): string {
  if (typeof type === 'string') return JSON.stringify(type.slice(0, TYPE_ECHO_CHARS_MAX));
  if (type === undefined) return '(none)';
  if (type === null) return '(null)';
  if (Array.isArray(type)) return '(an array)';
  if (typeof type === 'object') return '(an object)';
  return `(a ${typeof type})`;
}

/** A non-empty string of at most `max` characters (request ids, clientMsgIds). */
function isText(value: unknown, max = TEXT_CHARS_MAX): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
