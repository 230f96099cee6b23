import type { ChatRecord } from '../ports/Directory.ts';
import { withUser } from './auth.ts';
import { badRequest, notFound } from './errors.ts';
import { chatForMember, checkGroupSize, openDirectChat, openGroupChat, requireFriends, requireKnownUsers } from './chatService.ts';
import { chatRenamed, deliver, memberAdded, memberRemoved, operationId } from './inbox.ts';
import { asFields, NAME_CHARS_MAX, optionalString, queryInt, requireChatKind, requireId, requireIdList, requireName } from './validate.ts';
import { chatView, messageFrame } from './views.ts';
import type { Caller, HttpApiDeps, Reply, RequestContext, Route } from './types.ts';
import { InboxMaterializer } from '../chat/InboxMaterializer.ts';

const DEFAULT_HISTORY_PAGE = 50;

export function chatRoutes(deps: HttpApiDeps): Route[] {
  const authed = (handle: (ctx: RequestContext, caller: Caller) => Promise<Reply>) => withUser(deps.tokens, handle);
  return [
    { method: 'POST', pattern: '/v1/chats', handle: authed((ctx, caller) => createChat(deps, ctx, caller)) },
    { method: 'GET', pattern: '/v1/chats', handle: authed((_ctx, caller) => listChats(deps, caller)) },
    { method: 'GET', pattern: '/v1/chats/:id', handle: authed((ctx, caller) => getChat(deps, ctx, caller)) },
    { method: 'PATCH', pattern: '/v1/chats/:id', handle: authed((ctx, caller) => renameChat(deps, ctx, caller)) },
    { method: 'POST', pattern: '/v1/chats/:id/members', handle: authed((ctx, caller) => addMember(deps, ctx, caller)) },
    { method: 'DELETE', pattern: '/v1/chats/:id/members/:user', handle: authed((ctx, caller) => removeMember(deps, ctx, caller)) },
    { method: 'GET', pattern: '/v1/chats/:id/messages', handle: authed((ctx, caller) => readHistory(deps, ctx, caller)) },
  ];
}

async function createChat(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const fields = asFields(await ctx.readJson());
  const kind = requireChatKind(fields);
  const members = requireIdList(fields, 'members');
  const name = optionalString(fields, 'name', 0, NAME_CHARS_MAX) ?? '';
  return kind === 'direct' ? createDirect(deps, caller.user, members, name) : createGroup(deps, caller.user, members, name);
}

/** Direct chats are idempotent: asking again for the same pair returns the chat with 200. */
async function createDirect(deps: HttpApiDeps, caller: string, members: string[], name: string): Promise<Reply> {
  const others = members.filter((id) => id !== caller);
  if (others.length !== 1) throw badRequest('a direct chat has exactly one member besides the caller');
  const other = others[0]!;
  await requireKnownUsers(deps.directory, [caller, other]);
  await requireFriends(deps.directory, caller, [other]);
  const { chat, created } = await openDirectChat(deps, caller, other, name);
  return { status: created ? 201 : 200, body: chatView(chat) };
}

async function createGroup(deps: HttpApiDeps, caller: string, members: string[], name: string): Promise<Reply> {
  const all = [...new Set([caller, ...members])];
  checkGroupSize(deps, all.length);
  await requireKnownUsers(deps.directory, all);
  await requireFriends(deps.directory, caller, all);
  const chat = await openGroupChat(deps, all, name);
  return { status: 201, body: chatView(chat) };
}

async function listChats(deps: HttpApiDeps, caller: Caller): Promise<Reply> {
  const ids = await deps.directory.chatsOf(caller.user);
  const chats = await Promise.all(ids.map((id) => deps.directory.getChat(id)));
  const mine = chats.filter((chat): chat is ChatRecord => chat?.members.has(caller.user) === true);
  const views = await Promise.all(mine.map(async (chat) => chatView(chat, await deps.store.headSeq(chat.id))));
  return { status: 200, body: { chats: views } };
}

async function getChat(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const chat = await chatForMember(deps.directory, ctx.params.id!, caller.user);
  return { status: 200, body: chatView(chat, await deps.store.headSeq(chat.id)) };
}

async function renameChat(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const chat = await chatForMember(deps.directory, ctx.params.id!, caller.user);
  const name = requireName(asFields(await ctx.readJson()), 'name');
  await deps.directory.renameChat(chat.id, name);
  const notice = chatRenamed(chat.id, name, operationId(deps.time, deps.random));
  await deliver(deps.store, chat.members.keys(), [notice]);
  return { status: 200, body: chatView({ ...chat, name }) };
}

/** Adds a member to a group; adding a current member changes nothing and is not an error. */
async function addMember(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const chat = await groupForMember(deps, ctx.params.id!, caller.user);
  const user = requireId(asFields(await ctx.readJson()), 'user');
  if (chat.members.has(user)) return { status: 200, body: chatView(chat) };
  checkGroupSize(deps, chat.members.size + 1);
  await requireKnownUsers(deps.directory, [user]);
  await requireFriends(deps.directory, caller.user, [user]);
  // Joining at the current head keeps the newcomer out of tick counts of earlier messages.
  const joinedAtSeq = await deps.store.headSeq(chat.id);
  const notice = memberAdded(chat.id, user, operationId(deps.time, deps.random));
  // The newcomer's own member_added is in their inbox before the directory lets a token sync
  // copy the chat for them: the first message after it shows where the chat begins (docs/
  // protocol.md section 6). Written after, a fill in between put the chat's first messages
  // before it, and the phone started the chat after the next one (swarm seeds 4801486 and
  // 4901896: a join during a slow store, seqs 6-9 never shown). Retried after a failure, the
  // join writes another (a new operation), which says the same.
  await deliver(deps.store, [user], [notice]);
  await deps.directory.addMember(chat.id, user, joinedAtSeq);
  const joined = { ...chat, members: new Map(chat.members).set(user, joinedAtSeq) };
  await deliver(deps.store, chat.members.keys(), [notice]);
  return { status: 200, body: chatView(joined) };
}

async function removeMember(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const chat = await groupForMember(deps, ctx.params.id!, caller.user);
  const user = ctx.params.user!;
  if (!chat.members.has(user)) throw notFound(`${user} is not a member of this chat`);
  // The inbox is filled when read, and fills after this no longer see the chat: copy what the
  // member is owed now (up to a bound; a message stored during the removal may be missed).
  await new InboxMaterializer({ store: deps.store, directory: deps.directory })
    .fillChat(chat, user, undefined, deps.limits.inboxCopyOnLeaveMessagesMax);
  await deps.directory.removeMember(chat.id, user);
  // The removed user hears of it too, so their phone drops the chat.
  const notice = memberRemoved(chat.id, user, operationId(deps.time, deps.random));
  await deliver(deps.store, chat.members.keys(), [notice]);
  return { status: 204 };
}

async function groupForMember(deps: HttpApiDeps, chatId: string, userId: string): Promise<ChatRecord> {
  const chat = await chatForMember(deps.directory, chatId, userId);
  if (chat.kind !== 'group') throw badRequest('the members of a direct chat cannot change');
  return chat;
}

async function readHistory(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const chat = await chatForMember(deps.directory, ctx.params.id!, caller.user);
  const after = queryInt(ctx.query, 'after', 0);
  const limit = clamp(queryInt(ctx.query, 'limit', DEFAULT_HISTORY_PAGE), 1, deps.limits.historyPageMax);
  const page = await deps.store.readChat(chat.id, after, limit);
  return { status: 200, body: { messages: page.messages.map(messageFrame), head: page.headSeq, hasMore: page.hasMore } };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
