// The population of a fuzz run, made through the admin provisioning API (which may create
// friendships and chats without the users' consent): fuzz users in pairs (a direct chat, friends)
// and groups of four, the bystander pair, and users for the raw-socket and flood workers.
import { randomBytes } from 'node:crypto';
import type { FuzzTarget } from './targets.ts';
import { sleep } from './targets.ts';

export interface FuzzUser {
  id: string;
  token: string;
  chats: string[];
  friends: string[];
}

export interface Population {
  fuzz: FuzzUser[];
  bystanders: [FuzzUser, FuzzUser];
  bystanderChat: string;
  raw: FuzzUser;
  flood: FuzzUser;
}

const GROUP_SIZE = 4;

export async function setUpPopulation(target: FuzzTarget, fuzzUsers: number, prefix = 'fz'): Promise<Population> {
  const password = randomBytes(12).toString('hex');
  const ids = Array.from({ length: fuzzUsers }, (_, i) => `${prefix}${i}`);
  const bys = [`${prefix}by0`, `${prefix}by1`] as const;
  const extra = [`${prefix}raw`, `${prefix}flood`];
  const friendships: Array<[string, string]> = [[bys[0], bys[1]]];
  const chats: Array<{ kind: string; members: string[]; name: string }> = [{ kind: 'direct', members: [...bys], name: 'bystanders' }];
  for (let i = 0; i + 1 < ids.length; i += 2) {
    friendships.push([ids[i]!, ids[i + 1]!]);
    chats.push({ kind: 'direct', members: [ids[i]!, ids[i + 1]!], name: `pair ${i / 2}` });
  }
  for (let i = 0; i < ids.length; i += GROUP_SIZE) chats.push({ kind: 'group', members: ids.slice(i, i + GROUP_SIZE), name: `group ${i / GROUP_SIZE}` });
  const all = [...ids, ...bys, ...extra];
  const res = await request(target, 'POST', '/v1/admin/provision', { users: all.map((id) => ({ id, password })), friendships, chats }, { 'x-admin-token': target.adminToken });
  if (res.status !== 200) throw new Error(`provision: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  const created = (res.body as { chats: Array<{ id: string; members: Array<{ user: string }> }> }).chats;
  const chatsOf = (user: string): string[] => created.filter((c) => c.members.some((m) => m.user === user)).map((c) => c.id);
  const friendsOf = (user: string): string[] => friendships.filter((f) => f.includes(user)).map((f) => (f[0] === user ? f[1] : f[0]));
  const users = new Map<string, FuzzUser>();
  for (const id of all) users.set(id, { id, token: await login(target, id, password), chats: chatsOf(id), friends: friendsOf(id) });
  return {
    fuzz: ids.map((id) => users.get(id)!),
    bystanders: [users.get(bys[0])!, users.get(bys[1])!],
    bystanderChat: chatsOf(bys[0])[0]!,
    raw: users.get(extra[0]!)!,
    flood: users.get(extra[1]!)!,
  };
}

/** Logs in, waiting out a 429 (the server's login rate limit) as its Retry-After says. */
async function login(target: FuzzTarget, user: string, password: string): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const res = await request(target, 'POST', '/v1/login', { user, password, device: 'd1' });
    if (res.status === 200) return (res.body as { token: string }).token;
    if (res.status !== 429) throw new Error(`login ${user}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    await sleep(Math.min(10_000, 1000 * Number(res.headers.get('retry-after') ?? 1)));
  }
  throw new Error(`login ${user}: still rate limited`);
}

export async function request(target: FuzzTarget, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${target.httpUrl}${path}`, {
    method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch { /* not JSON: kept as text for the error message */ }
  return { status: res.status, body: parsed, headers: res.headers };
}
