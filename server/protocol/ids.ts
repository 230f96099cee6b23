// The one id rule of the reference cluster (docs/security.md, docs/protocol.md §ids).
//
// Users, devices and the name part of a group id share one alphabet: 1..64 characters of
// A-Z a-z 0-9 _ -. Ids travel in URLs, Redis keys, broker channels, log lines and terminals,
// so nothing that needs escaping anywhere (":", "/", ".", spaces, control characters) is in it.
// ":" is the reserved separator of chat ids, which the server composes:
//   g:<id>            a group (the server draws <id>, or the admin provisioning names it)
//   d:<user>:<user>   the direct chat of two users, sorted; unambiguous since ids have no ":"
// A user-supplied id can therefore never be, or be mistaken for, a chat id.

const ID_BODY = '[A-Za-z0-9_-]{1,64}';
const ID_PATTERN = new RegExp(`^${ID_BODY}$`);
const GROUP_ID_PATTERN = new RegExp(`^g:${ID_BODY}$`);
const DIRECT_ID_PATTERN = new RegExp(`^d:${ID_BODY}:${ID_BODY}$`);

export const ID_RULE = '1..64 characters of A-Z a-z 0-9 _ -';
export const CHAT_ID_RULE = 'a chat id: g:<id> (a group) or d:<user>:<user> (a direct chat)';

/** A user, device or other user-supplied id. */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function isGroupId(value: unknown): value is string {
  return typeof value === 'string' && GROUP_ID_PATTERN.test(value);
}

export function isDirectChatId(value: unknown): value is string {
  return typeof value === 'string' && DIRECT_ID_PATTERN.test(value);
}

export function isChatId(value: unknown): value is string {
  return isGroupId(value) || isDirectChatId(value);
}
