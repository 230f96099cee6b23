import { checkPassword, hashPassword } from '../auth/passwords.ts';
import { AuthRateLimits } from './AuthRateLimits.ts';
import { withUser } from './auth.ts';
import { ApiError, badRequest, notFound } from './errors.ts';
import { deliver, operationId, profileChanged } from './inbox.ts';
import { asFields, isId, optionalId, requireId, requireName, requirePassword } from './validate.ts';
import type { Caller, HttpApiDeps, Reply, RequestContext, Route } from './types.ts';

const DEFAULT_DEVICE = 'd1';

export function userRoutes(deps: HttpApiDeps): Route[] {
  const authed = (handle: (ctx: RequestContext, caller: Caller) => Promise<Reply>) => withUser(deps.tokens, handle);
  const limits = new AuthRateLimits(deps.time, deps.limits, deps.metrics);
  return [
    { method: 'POST', pattern: '/v1/users', handle: (ctx) => register(deps, limits, ctx) },
    { method: 'POST', pattern: '/v1/login', handle: (ctx) => login(deps, limits, ctx) },
    { method: 'GET', pattern: '/v1/me', handle: authed((_ctx, caller) => getMe(deps, caller)) },
    { method: 'PUT', pattern: '/v1/me', handle: authed((ctx, caller) => putMe(deps, ctx, caller)) },
    { method: 'POST', pattern: '/v1/friends', handle: authed((ctx, caller) => requestFriend(deps, ctx, caller)) },
    { method: 'GET', pattern: '/v1/friends', handle: authed((_ctx, caller) => listFriends(deps, caller)) },
    { method: 'POST', pattern: '/v1/friends/requests/:user/accept', handle: authed((ctx, caller) => acceptFriend(deps, ctx, caller)) },
    { method: 'DELETE', pattern: '/v1/friends/requests/:user', handle: authed((ctx, caller) => removeFriendRequest(deps, ctx, caller)) },
  ];
}

async function register(deps: HttpApiDeps, limits: AuthRateLimits, ctx: RequestContext): Promise<Reply> {
  limits.register(ctx.client);
  const fields = asFields(await ctx.readJson());
  const id = requireId(fields, 'id');
  const name = fields.name === undefined ? id : requireName(fields, 'name');
  const password = requirePassword(fields, 'password');
  const created = await deps.directory.createUser({ id, name, passwordHash: hashPassword(password) });
  if (!created.ok) throw new ApiError(409, 'USER_EXISTS', `user ${id} already exists`);
  return { status: 201, body: { id, name } };
}

async function login(deps: HttpApiDeps, limits: AuthRateLimits, ctx: RequestContext): Promise<Reply> {
  const fields = asFields(await ctx.readJson());
  const user = requireId(fields, 'user');
  const password = requirePassword(fields, 'password');
  const device = optionalId(fields, 'device') ?? DEFAULT_DEVICE;
  // Before the password is looked at: once a name or an address has failed too often, even
  // the right password waits, or guessing would go on at full speed.
  limits.checkLogin(ctx.client, user);
  const record = await deps.directory.getUser(user);
  // Unknown user and wrong password answer alike, so logins cannot probe for user ids.
  if (!record || !checkPassword(password, record.passwordHash)) {
    limits.loginFailed(ctx.client, user);
    throw new ApiError(401, 'BAD_CREDENTIALS');
  }
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

/**
 * Asks `user` to be friends. When they had asked the caller already, this accepts instead.
 * 202 {status: 'requested'} or 200 {status: 'friends'}; nothing is visible to either side
 * (presence, being added to chats) until both have agreed.
 */
async function requestFriend(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const friend = requireId(asFields(await ctx.readJson()), 'user');
  if (friend === caller.user) throw badRequest('a user cannot befriend themselves');
  const [me, other] = await Promise.all([deps.directory.getUser(caller.user), deps.directory.getUser(friend)]);
  if (!me || !other) throw notFound(`unknown user ${me ? friend : caller.user}`);
  const outcome = await deps.directory.requestFriendship(caller.user, friend);
  return outcome === 'requested' ? { status: 202, body: { status: 'requested' } } : { status: 200, body: { status: 'friends' } };
}

async function acceptFriend(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const from = ctx.params.user!;
  if (!isId(from) || !(await deps.directory.acceptFriendship(caller.user, from))) throw notFound(`no pending friend request from ${from}`);
  return { status: 200, body: { status: 'friends' } };
}

/** Declines a request to the caller or cancels one by the caller. */
async function removeFriendRequest(deps: HttpApiDeps, ctx: RequestContext, caller: Caller): Promise<Reply> {
  const other = ctx.params.user!;
  if (!isId(other) || !(await deps.directory.removeFriendRequest(caller.user, other))) throw notFound(`no pending friend request between you and ${other}`);
  return { status: 204 };
}

async function listFriends(deps: HttpApiDeps, caller: Caller): Promise<Reply> {
  const [friends, requests] = await Promise.all([deps.directory.friendsOf(caller.user), deps.directory.friendRequestsOf(caller.user)]);
  return { status: 200, body: { friends, incoming: requests.incoming, outgoing: requests.outgoing } };
}
