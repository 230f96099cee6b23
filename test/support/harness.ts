// Starts a real cluster on loopback for a test, with fake time, and logs users in over HTTP.
import { Cluster, type ClusterOptions } from '../../server/Cluster.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { TestClient } from './TestClient.ts';

export interface Harness {
  cluster: Cluster;
  time: ManualTime;
  httpUrl: string;
  gatewayUrls: string[];
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  /** Registers (once) and logs in a user; returns the token. */
  login(user: string, device?: string): Promise<string>;
  connect(user: string, options?: { device?: string; gateway?: number }): Promise<TestClient>;
  createChat(owner: string, kind: 'direct' | 'group', members: string[], name?: string): Promise<string>;
  befriend(a: string, b: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(options: Partial<ClusterOptions> = {}): Promise<Harness> {
  const time = (options.time as ManualTime | undefined) ?? new ManualTime();
  const cluster = new Cluster({ gateways: 2, chatServers: 2, ...options, time });
  const { httpUrl, gatewayUrls } = await cluster.start();
  const registered = new Set<string>();
  const clients: TestClient[] = [];

  const api: Harness['api'] = async (method, path, body, token) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${httpUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const login: Harness['login'] = async (user, device = 'd1') => {
    if (!registered.has(user)) {
      const created = await api('POST', '/v1/users', { id: user, name: user, password: `pw-${user}` });
      if (created.status !== 201) throw new Error(`register ${user}: ${created.status} ${JSON.stringify(created.body)}`);
      registered.add(user);
    }
    const res = await api('POST', '/v1/login', { user, password: `pw-${user}`, device });
    if (res.status !== 200) throw new Error(`login ${user}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.token as string;
  };

  /** A asks, b accepts (consent); friends already is fine. */
  const befriend: Harness['befriend'] = async (a, b) => {
    const tokenA = await login(a);
    const tokenB = await login(b);
    const asked = await api('POST', '/v1/friends', { user: b }, tokenA);
    if (asked.status === 200) return;
    if (asked.status !== 202) throw new Error(`befriend: ${asked.status} ${JSON.stringify(asked.body)}`);
    const accepted = await api('POST', `/v1/friends/requests/${a}/accept`, undefined, tokenB);
    if (accepted.status !== 200) throw new Error(`accept: ${accepted.status} ${JSON.stringify(accepted.body)}`);
  };

  return {
    cluster, time, httpUrl, gatewayUrls, api, login,
    async connect(user, opts = {}) {
      const token = await login(user, opts.device);
      const client = await TestClient.connect(gatewayUrls[opts.gateway ?? 0]!, token);
      clients.push(client);
      return client;
    },
    async createChat(owner, kind, members, name) {
      const token = await login(owner);
      // Consent: only friends can be put into a chat.
      for (const m of members) if (m !== owner) await befriend(owner, m);
      const res = await api('POST', '/v1/chats', { kind, members, name }, token);
      if (res.status !== 201 && res.status !== 200) throw new Error(`create chat: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    befriend,
    async stop() {
      for (const c of clients) c.ws.terminate();
      await cluster.stop();
    },
  };
}
