import type { Population } from './buildPopulation.ts';

/**
 * JSON requests to a cluster's HTTP API. `fetchApi` goes over real HTTP; the simulation
 * engine answers in-process through the same routes (`Cluster.http.handle`).
 * Contract: resolves with the status and parsed JSON body; rejects only when the target
 * cannot be reached at all.
 */
export interface ApiPort {
  readonly where: string;
  request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
}

export function fetchApi(httpUrl: string): ApiPort {
  return {
    where: httpUrl,
    async request(method, path, body, headers = {}) {
      const res = await fetch(`${httpUrl}${path}`, {
        method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

export interface ProvisionedDevice {
  user: string;
  device: string;
  token: string;
}

export type ProvisionResult =
  | { ok: true; devices: ProvisionedDevice[]; gatewayUrls: string[]; chatIds: Map<string, string> }
  | { ok: false; code: 'TARGET_UNREACHABLE' | 'PROVISION_FAILED'; message: string };

/** Items per provisioning request, so each body stays far below httpBodyBytesMax (256 KiB). */
const USERS_PER_REQUEST = 500;
const FRIENDSHIPS_PER_REQUEST = 2_000;
const CHAT_MEMBERS_PER_REQUEST = 5_000;
/** Concurrent logins: enough to be quick, few enough not to swamp a 2-core target. */
const LOGIN_CONCURRENCY = 32;

/**
 * Creates the population on a target cluster through its HTTP API (so `--target` works the
 * same as a cluster we started), then logs every device in.
 */
export async function provisionTarget(api: ApiPort, adminToken: string | undefined, population: Population): Promise<ProvisionResult> {
  try {
    const health = await api.request('GET', '/v1/health');
    if (health.status !== 200) return { ok: false, code: 'TARGET_UNREACHABLE', message: `GET ${api.where}/v1/health answered ${health.status}` };
  } catch (error) {
    return { ok: false, code: 'TARGET_UNREACHABLE', message: `cannot reach ${api.where}: ${causeOf(error)}` };
  }
  // No default: a target's admin token is its operator's secret (docs/security.md).
  if (adminToken === undefined) {
    return { ok: false, code: 'PROVISION_FAILED', message: `provisioning ${api.where} needs its admin token: --admin-token-file, $CHATSIM_ADMIN_TOKEN or target.adminToken` };
  }
  try {
    const chatIds = await provisionAll(api, adminToken, population);
    const { devices, gatewayUrls } = await loginAll(api, population);
    return { ok: true, devices, gatewayUrls, chatIds };
  } catch (error) {
    return { ok: false, code: 'PROVISION_FAILED', message: (error as Error).message };
  }
}

async function provisionAll(api: ApiPort, adminToken: string, population: Population): Promise<Map<string, string>> {
  const users = population.users.map((u) => ({ id: u.id, name: u.id, password: passwordOf(u.id) }));
  for (const batch of chunks(users, USERS_PER_REQUEST)) await post(api, adminToken, { users: batch });
  for (const batch of chunks(population.friendships, FRIENDSHIPS_PER_REQUEST)) await post(api, adminToken, { friendships: batch });
  const chatIds = new Map<string, string>();
  let batch: typeof population.chats = [];
  let members = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const body = await post(api, adminToken, { chats: batch.map((c) => ({ id: c.kind === 'group' ? c.id : undefined, kind: c.kind, members: c.members, name: c.name })) });
    const created = (body as { chats: Array<{ id: string }> }).chats;
    batch.forEach((c, i) => chatIds.set(c.id, created[i]!.id));
    batch = [];
    members = 0;
  };
  for (const chat of population.chats) {
    if (members + chat.members.length > CHAT_MEMBERS_PER_REQUEST) await flush();
    batch.push(chat);
    members += chat.members.length;
  }
  await flush();
  return chatIds;
}

async function loginAll(api: ApiPort, population: Population): Promise<{ devices: ProvisionedDevice[]; gatewayUrls: string[] }> {
  const wanted = population.users.flatMap((u) => u.devices.map((device) => ({ user: u.id, device })));
  const devices: ProvisionedDevice[] = new Array(wanted.length);
  let gatewayUrls: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < wanted.length) {
      const index = next++;
      const { user, device } = wanted[index]!;
      const res = await api.request('POST', '/v1/login', { user, password: passwordOf(user), device });
      const body = (res.body ?? {}) as { token?: string; gateways?: string[]; error?: { code: string } };
      if (res.status !== 200 || !body.token) throw new Error(`login ${user}/${device}: ${res.status} ${body.error?.code ?? ''}`);
      devices[index] = { user, device, token: body.token };
      gatewayUrls = body.gateways ?? gatewayUrls;
    }
  };
  await Promise.all(Array.from({ length: LOGIN_CONCURRENCY }, worker));
  return { devices, gatewayUrls };
}

async function post(api: ApiPort, adminToken: string, body: unknown): Promise<unknown> {
  const res = await api.request('POST', '/v1/admin/provision', body, { 'x-admin-token': adminToken });
  const json = (res.body ?? {}) as { error?: { code: string; message: string } };
  if (res.status !== 200) throw new Error(`provision: ${res.status} ${json.error?.code}: ${json.error?.message}`);
  return json;
}

export function passwordOf(user: string): string {
  return `pw-${user}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function causeOf(error: unknown): string {
  const e = error as { cause?: { code?: string; message?: string }; message?: string };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(error);
}
