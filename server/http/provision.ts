import { hashPassword } from '../auth/passwords.ts';
import { ID_RULE, isGroupId } from '../protocol/ids.ts';
import type { ChatKind } from '../ports/Directory.ts';
import { checkGroupSize, directChatId, openDirectChat, openGroupChat, requireKnownUsers } from './chatService.ts';
import { ApiError, badRequest } from './errors.ts';
import { asFields, isId, NAME_CHARS_MAX, optionalArray, optionalString, requireChatKind, requireId, requireIdList, requireName, requirePassword } from './validate.ts';
import { chatView } from './views.ts';
import type { ChatView } from './views.ts';
import type { HttpApiDeps, Reply } from './types.ts';

// Bulk setup for load tests: users, friendships and chats in one request. The whole body is
// checked before anything is written, so a bad request leaves the directory unchanged.

/** Longest chat id a provisioning request may name (d:<64>:<64>), in characters. */
const CHAT_ID_CHARS_MAX = 2 + 64 + 1 + 64;

interface UserSpec { id: string; name: string; password: string }
interface ChatSpec { id: string | undefined; kind: ChatKind; members: string[]; name: string }
interface ProvisionPlan { users: UserSpec[]; friendships: Array<[string, string]>; chats: ChatSpec[] }

export async function provision(deps: HttpApiDeps, body: unknown): Promise<Reply> {
  const plan = parsePlan(deps, body);
  const planned = new Set(plan.users.map((user) => user.id));
  await requireKnownUsers(deps.directory, referencedUsers(plan).filter((id) => !planned.has(id)));
  const users = await createUsers(deps, plan.users);
  for (const [a, b] of plan.friendships) await deps.directory.addFriends(a, b);
  const chats: Array<ChatView & { created: boolean }> = [];
  for (const spec of plan.chats) chats.push(await openChat(deps, spec));
  return { status: 200, body: { users, friendships: plan.friendships.length, chats } };
}

function parsePlan(deps: HttpApiDeps, body: unknown): ProvisionPlan {
  const fields = asFields(body);
  return {
    users: optionalArray(fields, 'users').map((item, i) => atItem(`users[${i}]`, () => parseUser(item))),
    friendships: optionalArray(fields, 'friendships').map((item, i) => atItem(`friendships[${i}]`, () => parseFriendship(item))),
    chats: optionalArray(fields, 'chats').map((item, i) => atItem(`chats[${i}]`, () => parseChat(deps, item))),
  };
}

/** Runs one item's checks and names the item in the error, so a bulk caller can find it. */
function atItem<T>(label: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ApiError) throw badRequest(`${label}: ${error.message}`);
    throw error;
  }
}

function parseUser(item: unknown): UserSpec {
  const fields = asFields(item, 'a user');
  const id = requireId(fields, 'id');
  const name = fields.name === undefined ? id : requireName(fields, 'name');
  return { id, name, password: requirePassword(fields, 'password') };
}

function parseFriendship(item: unknown): [string, string] {
  if (!Array.isArray(item) || item.length !== 2) throw badRequest('a friendship is a pair of two different user ids');
  const [a, b] = item as unknown[];
  if (!isId(a) || !isId(b) || a === b) throw badRequest('a friendship is a pair of two different user ids');
  return [a, b];
}

function parseChat(deps: HttpApiDeps, item: unknown): ChatSpec {
  const fields = asFields(item, 'a chat');
  const spec: ChatSpec = {
    id: optionalString(fields, 'id', 1, CHAT_ID_CHARS_MAX),
    kind: requireChatKind(fields),
    members: requireIdList(fields, 'members'),
    name: optionalString(fields, 'name', 0, NAME_CHARS_MAX) ?? '',
  };
  if (spec.kind === 'direct') checkDirectSpec(spec);
  else checkGroupSpec(deps, spec);
  return spec;
}

function checkDirectSpec(spec: ChatSpec): void {
  const [a, b] = spec.members;
  if (spec.members.length !== 2) throw badRequest('a direct chat has exactly two different members');
  if (spec.id !== undefined && spec.id !== directChatId(a!, b!)) throw badRequest(`a direct chat of these members has the id ${directChatId(a!, b!)}`);
}

function checkGroupSpec(deps: HttpApiDeps, spec: ChatSpec): void {
  if (spec.members.length === 0) throw badRequest('a group needs at least one member');
  checkGroupSize(deps, spec.members.length);
  // The one id rule: a provisioned group is named g:<id>; "d:" ids belong to direct chats.
  if (spec.id !== undefined && !isGroupId(spec.id)) throw badRequest(`a group id must be g:<id>, <id> being ${ID_RULE}`);
}

function referencedUsers(plan: ProvisionPlan): string[] {
  const ids = new Set<string>();
  for (const pair of plan.friendships) for (const id of pair) ids.add(id);
  for (const chat of plan.chats) for (const id of chat.members) ids.add(id);
  return [...ids];
}

/** Creates the users that do not exist yet and says how many that was; existing ones are kept as they are. */
async function createUsers(deps: HttpApiDeps, users: UserSpec[]): Promise<number> {
  let created = 0;
  for (const user of users) {
    const result = await deps.directory.createUser({ id: user.id, name: user.name, passwordHash: hashPassword(user.password) });
    if (result.ok) created++;
  }
  return created;
}

/** Opens the chat, or returns the existing one when its id is taken (reruns of a setup are harmless). */
async function openChat(deps: HttpApiDeps, spec: ChatSpec): Promise<ChatView & { created: boolean }> {
  if (spec.kind === 'direct') {
    const { chat, created } = await openDirectChat(deps, spec.members[0]!, spec.members[1]!, spec.name);
    return { ...chatView(chat), created };
  }
  const existing = spec.id === undefined ? undefined : await deps.directory.getChat(spec.id);
  if (existing) return { ...chatView(existing), created: false };
  return { ...chatView(await openGroupChat(deps, spec.members, spec.name, spec.id)), created: true };
}
