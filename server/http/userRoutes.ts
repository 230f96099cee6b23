import { checkPassword, hashPassword } from '../auth/passwords.ts';
import { withUser } from './auth.ts';
import { ApiError, badRequest, notFound } from './errors.ts';
import { deliver, operationId, profileChanged } from './inbox.ts';
import { asFields, optionalId, requireId, requireName, requirePassword } from './validate.ts';
import type { Caller, HttpApiDeps, Reply, RequestContext, Route } from './types.ts';

const DEFAULT_DEVICE = 'd1';

export function userRoutes(deps: HttpApiDeps): Route[] {
  const authed = (handle: (ctx: RequestContext, caller: Caller) => Promise<Reply>) => withUser(deps.tokens, handle);
  return [
    { method: 'POST', pattern: '/v1/users', handle: (ctx) => register(deps, ctx) },
    { method: 'POST', pattern: '/v1/login', handle: (ctx) => login(deps, ctx) },
    { method: 'GET', pattern: '/v1/me', handle: authed((_ctx, caller) => getMe(deps, caller)) },
    { method: 'PUT', pattern: '/v1/me', handle: authed((ctx, caller) => putMe(deps, ctx, caller)) },
    { method: 'POST', pattern: '/v1/friends', handle: authed((ctx, caller) => addFriend(deps, ctx, caller)) },
    { method: 'GET', pattern: '/v1/friends', handle: authed((_ctx, caller) => listFriends(deps, caller)) },
  ];
}

async function register(deps: HttpApiDeps, ctx: RequestContext): Promise<Reply> {
  const fields = asFields(await ctx.readJson());
  const id = requireId(fields, 'id');
  const name = fields.name === undefined ? id : requireName(fields, 'name');
  const password = requirePassword(fields, 'password');
  const created = await deps.directory.createUser({ id, name, passwordHash: hashPassword(password) });
  if (!created.ok) throw new ApiError(409, 'USER_EXISTS', `user ${id} already exists`);
  return { status: 201, body: { id, name } };
}

async function login(deps: HttpApiDeps, ctx: RequestContext): Promise<Reply> {
  const fields = asFields(await ctx.readJson());
  const user = requireId(fields, 'user');
  const password = requirePassword(fields, 'password');
  const device = optionalId(fields, 'device') ?? DEFAULT_DEVICE;
  const record = await deps.directory.getUser(user);
  // Unknown user and wrong password answer alike, so logins cannot probe for user ids.
  if (!record || !checkPassword(password, record.passwordHash)) throw new ApiError(401, 'BAD_CREDENTIALS');
  const { token, expiresAtMs } = deps.tokens.issue(user, device);
  return { status: 200, body: { token, expiresAtMs, user, device, gateways: deps.gatewayUrls() } };
}

async function getMe(deps: HttpApiDeps, caller: Caller): Promise<Reply> {
  const record = await deps.directory.getUser(caller.user);
  if (!record) throw notFound('no such user');
  return { status: 200, body: { id: record.id, name: record.name } };
}

async function putMe(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const name = requireName(asFields(await ctx.readJson()), 'name');
  if (!(await deps.directory.updateProfile(caller.user, { name }))) throw notFound('no such user');
  const friends = await deps.directory.friendsOf(caller.user);
  const notice = profileChanged(caller.user, name, operationId(deps.time, deps.random));
  await deliver(deps.store, [caller.user, ...friends], [notice]);
  return { status: 200, body: { id: caller.user, name } };
}

async function addFriend(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const friend = requireId(asFields(await ctx.readJson()), 'user');
  if (friend === caller.user) throw badRequest('a user cannot befriend themselves');
  const [me, other] = await Promise.all([deps.directory.getUser(caller.user), deps.directory.getUser(friend)]);
  if (!me || !other) throw notFound(`unknown user ${me ? friend : caller.user}`);
  await deps.directory.addFriends(caller.user, friend);
  return { status: 204 };
}

async function listFriends(deps: HttpApiDeps, caller: Caller): Promise<Reply> {
  return { status: 200, body: { friends: await deps.directory.friendsOf(caller.user) } };
}
