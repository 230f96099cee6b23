import type { ChatRecord, Directory } from '../ports/Directory.ts';
import { ApiError, badRequest, notFound } from './errors.ts';
import { deliver, memberAdded, operationId, randomBase36 } from './inbox.ts';
import type { HttpApiDeps } from './types.ts';

// Chat operations shared by the user-facing routes and admin provisioning.

/** Draws for a free group id; 36^12 ids make a second draw all but impossible. */
const GROUP_ID_ATTEMPTS_MAX = 4;

export type ChatDeps = Pick<HttpApiDeps, 'directory' | 'store' | 'time' | 'random' | 'limits'>;

/** Throws BAD_REQUEST naming the first id that is not a user. */
export async function requireKnownUsers(directory: Directory, userIds: readonly string[]): Promise<void> {
  const found = await Promise.all(userIds.map((id) => directory.getUser(id)));
  const index = found.findIndex((user) => user === undefined);
  if (index >= 0) throw badRequest(`unknown user ${userIds[index]}`);
}

/**
 * Consent: a user puts into a chat only their friends (a request the other accepted), so
 * nobody can be pushed messages by a stranger. Throws 403 NOT_FRIENDS naming the first other.
 * The admin provisioning does not ask (load-test setup).
 */
export async function requireFriends(directory: Directory, caller: string, userIds: readonly string[]): Promise<void> {
  const others = userIds.filter((id) => id !== caller);
  if (others.length === 0) return;
  const friends = new Set(await directory.friendsOf(caller));
  const stranger = others.find((id) => !friends.has(id));
  if (stranger !== undefined) throw new ApiError(403, 'NOT_FRIENDS', `${stranger} is not a friend of ${caller}; send a friend request (POST /v1/friends) and wait for it to be accepted`);
}

export function checkGroupSize(deps: ChatDeps, memberCount: number): void {
  const max = deps.limits.groupMembersMax;
  if (memberCount > max) throw badRequest(`a group has at most groupMembersMax = ${max} members; this one would have ${memberCount}`);
}

export function directChatId(a: string, b: string): string {
  const [first, second] = [a, b].sort();
  return `d:${first}:${second}`;
}

/**
 * The chat, if `userId` is a member. An unknown chat and a chat of others both read as
 * NOT_FOUND, so ids cannot be probed.
 */
export async function chatForMember(directory: Directory, chatId: string, userId: string): Promise<ChatRecord> {
  const chat = await directory.getChat(chatId);
  if (!chat?.members.has(userId)) throw notFound('no such chat');
  return chat;
}

/** Opens the direct chat of two distinct users, or returns it when it already exists. */
export async function openDirectChat(deps: ChatDeps, a: string, b: string, name = ''): Promise<{ chat: ChatRecord; created: boolean }> {
  const id = directChatId(a, b);
  const existing = await deps.directory.getChat(id);
  if (existing) return { chat: requireSameMembers(existing, [a, b]), created: false };
  const memberIds = [a, b].sort();
  const chat = await deps.directory.createChat({ id, kind: 'direct', name, memberIds, createdAtMs: deps.time.nowMs() });
  await announceMembers(deps, chat);
  return { chat, created: true };
}

/**
 * Ids may contain ":", so "d:a:b:c" is both (a, b:c) and (a:b, c). The second pair must not
 * be handed the first pair's chat.
 */
function requireSameMembers(chat: ChatRecord, userIds: string[]): ChatRecord {
  const same = chat.kind === 'direct' && chat.members.size === userIds.length && userIds.every((id) => chat.members.has(id));
  if (!same) throw badRequest(`the direct chat id ${chat.id} is taken by another pair of users`);
  return chat;
}

/** Creates a group of exactly these members; the caller has checked size and users. */
export async function openGroupChat(deps: ChatDeps, memberIds: string[], name: string, id?: string): Promise<ChatRecord> {
  const chatId = id ?? await freeGroupId(deps);
  const chat = await deps.directory.createChat({ id: chatId, kind: 'group', name, memberIds, createdAtMs: deps.time.nowMs() });
  await announceMembers(deps, chat);
  return chat;
}

async function freeGroupId(deps: ChatDeps): Promise<string> {
  for (let attempt = 0; attempt < GROUP_ID_ATTEMPTS_MAX; attempt++) {
    const id = `g:${randomBase36(deps.random, 12)}`;
    if (!(await deps.directory.getChat(id))) return id;
  }
  throw new Error(`no free group id after ${GROUP_ID_ATTEMPTS_MAX} draws; is the random source stuck?`);
}

/** Tells each member of a new chat that it was added (the roster itself is read from the chat). */
async function announceMembers(deps: ChatDeps, chat: ChatRecord): Promise<void> {
  const op = operationId(deps.time, deps.random);
  const members = [...chat.members.keys()];
  // Each member learns of the new chat through its own member_added; the member list is read
  // from the chat itself. Announcing every member to every member would cost n^2 inbox writes
  // (about a million for a 1,024-member group), which load-test provisioning cannot afford.
  await Promise.all(members.map((userId) => deliver(deps.store, [userId], [memberAdded(chat.id, userId, op)])));
}
