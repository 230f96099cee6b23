/**
 * A real ejabberd for tests: started through scripts/ejabberd.sh when it is not running (which
 * installs Debian's package where missing, as root), and users with passwords generated here.
 *
 * `ensureEjabberd()` answers the endpoints, or the reason ejabberd cannot be had. Test files
 * skip with that reason only when CI is not 'true'; with CI=true they fail instead.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { EjabberdAdmin } from '../../simulator/targets/ejabberd/EjabberdAdmin.ts';
import { XmppConnection } from '../../simulator/drivers/xmpp/XmppConnection.ts';
import type { XmppConnectionOptions } from '../../simulator/drivers/xmpp/XmppConnection.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(repo, 'scripts/ejabberd.sh');
/** Install (apt) and start; the script's own readiness timeout is 90 s. */
const START_TIMEOUT_MS = 300_000;

export interface EjabberdEndpoints {
  /** XMPP over TCP (xmpp://), from xmpp.js's own sockets. */
  service: string;
  /** XMPP over WebSocket (RFC 7395, ws://.../ws), the phones' endpoint in runs (over their shaped links). */
  wsService: string;
  apiUrl: string;
  domain: string;
  mucDomain: string;
  /** This process started it (and stops it in `stopIfStarted`). */
  startedHere: boolean;
}

function runScript(command: string, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('bash', [script, command], { timeout: timeoutMs, cwd: repo, ...(env ? { env } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

export async function ensureEjabberd(): Promise<{ ok: true; endpoints: EjabberdEndpoints } | { ok: false; reason: string }> {
  const env = await runScript('env', 30_000);
  if (env.code !== 0) return { ok: false, reason: `scripts/ejabberd.sh env failed: ${env.out}` };
  const vars = Object.fromEntries(env.out.split('\n').map((line) => line.split('=', 2) as [string, string]));
  const endpoints = (startedHere: boolean): EjabberdEndpoints => ({
    service: `xmpp://127.0.0.1:${vars.EJABBERD_C2S_PORT}`,
    wsService: `ws://127.0.0.1:${vars.EJABBERD_HTTP_PORT}/ws`,
    apiUrl: `http://127.0.0.1:${vars.EJABBERD_HTTP_PORT}/api`,
    domain: vars.EJABBERD_DOMAIN ?? 'localhost',
    mucDomain: vars.EJABBERD_MUC_DOMAIN ?? 'conference.localhost',
    startedHere,
  });
  const status = await runScript('status', 30_000);
  if (status.code === 0) return { ok: true, endpoints: endpoints(false) };
  const started = await runScript('start', START_TIMEOUT_MS);
  if (started.code !== 0) return { ok: false, reason: `bash scripts/ejabberd.sh start failed: ${started.out.split('\n').slice(-6).join(' | ')}` };
  return { ok: true, endpoints: endpoints(true) };
}

/** A node of a test's own (scratch directory, node name, ports), for tests that restart or stop it. */
export interface PrivateEjabberd {
  /** The environment that names it to scripts/ejabberd.sh and to `chatsim run` (EJABBERD_*). */
  env: NodeJS.ProcessEnv;
  endpoints: EjabberdEndpoints;
  stop(): Promise<void>;
}

/**
 * Starts a node of this test's own through scripts/ejabberd.sh (EJABBERD_DIR, EJABBERD_NODE and
 * the ports below; the default node, shared by other tests, is never restarted by a test).
 */
export async function startPrivateEjabberd(name: string, ports: { c2s: number; http: number; dist: number }): Promise<{ ok: true; node: PrivateEjabberd } | { ok: false; reason: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), `chatsim-ejabberd-${name}-`));
  chmodSync(dir, 0o755); // the node runs as the ejabberd user, which must reach it
  const env: NodeJS.ProcessEnv = {
    ...process.env, EJABBERD_DIR: dir, EJABBERD_NODE: `chatsim-${name}@localhost`,
    EJABBERD_C2S_PORT: String(ports.c2s), EJABBERD_HTTP_PORT: String(ports.http), EJABBERD_DIST_PORT: String(ports.dist),
  };
  const started = await runScript('start', START_TIMEOUT_MS, env);
  if (started.code !== 0) return { ok: false, reason: `bash scripts/ejabberd.sh start (${name}) failed: ${started.out.split('\n').slice(-6).join(' | ')}` };
  return {
    ok: true,
    node: {
      env,
      endpoints: { service: `xmpp://127.0.0.1:${ports.c2s}`, wsService: `ws://127.0.0.1:${ports.http}/ws`, apiUrl: `http://127.0.0.1:${ports.http}/api`, domain: 'localhost', mucDomain: 'conference.localhost', startedHere: true },
      stop: async () => {
        await runScript('stop', 90_000, env);
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
}

export async function stopIfStarted(endpoints: EjabberdEndpoints | undefined): Promise<void> {
  if (endpoints?.startedHere) await runScript('stop', 90_000);
}

/**
 * Whether ejabberd serves XMPP over WebSocket at `wsService` (a node started from a configuration
 * before /ws was added does not: restart it with scripts/ejabberd.sh stop, start). Answers the
 * reason when it does not.
 */
export function webSocketReason(endpoints: EjabberdEndpoints): Promise<string | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(endpoints.wsService, 'xmpp');
    const done = (reason: string | undefined): void => { ws.terminate(); resolve(reason); };
    ws.on('open', () => done(undefined));
    ws.on('unexpected-response', (_req, res) => done(`ejabberd answers ${endpoints.wsService} with HTTP ${res.statusCode}: it runs a configuration without /ws (bash scripts/ejabberd.sh stop, then start)`));
    ws.on('error', (err) => done(`${endpoints.wsService}: ${err.message}`));
  });
}

/** A password made for this run (never a fixed one). */
export function newPassword(): string {
  return randomBytes(12).toString('base64url');
}

/** A user name unique to this run. */
export function uniqueUser(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export interface TestUser {
  name: string;
  password: string;
  jid: string;
}

export async function registerUsers(admin: EjabberdAdmin, prefixes: string[]): Promise<TestUser[]> {
  const users: TestUser[] = [];
  for (const prefix of prefixes) {
    const name = uniqueUser(prefix);
    const password = newPassword();
    const result = await admin.register(name, password);
    if (!result.ok) throw new Error(`register ${name}: ${result.error.code} ${result.error.message}`);
    users.push({ name, password, jid: admin.jid(name) });
  }
  return users;
}

/**
 * A connection for `user`. SASL PLAIN unless `extra` says otherwise: the server is on loopback,
 * and SCRAM costs 160 to 180 ms of CPU per login in xmpp.js, which on a loaded 2-core machine
 * (the whole suite in parallel) would eat into each wait. The login test uses SCRAM-SHA-1.
 */
export function connectionFor(endpoints: EjabberdEndpoints, user: TestUser, extra: Partial<XmppConnectionOptions> = {}): XmppConnection {
  return new XmppConnection({
    service: endpoints.service, domain: endpoints.domain,
    username: user.name, password: user.password, resource: 'phone', saslMechanism: 'PLAIN', ...extra,
  });
}

/**
 * Everything an emitter emits for `event`, from now on, and a wait for the first entry that
 * matches (including ones already recorded), bounded by `timeoutMs`.
 */
export class Recorder<T> {
  readonly seen: T[] = [];
  private waiters: { match: (value: T) => boolean; resolve: (value: T) => void }[] = [];

  constructor(emitter: EventEmitter, event: string) {
    emitter.on(event, (value: T) => {
      this.seen.push(value);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(value)) return true;
        w.resolve(value);
        return false;
      });
    });
  }

  waitFor(match: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
    const already = this.seen.find(match);
    if (already !== undefined) return Promise.resolve(already);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (seen: ${JSON.stringify(this.seen).slice(0, 500)})`));
      }, timeoutMs);
      const done = (value: T): void => {
        clearTimeout(timer);
        resolve(value);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** Wait until `count` entries match. */
  async waitForCount(match: (value: T) => boolean, count: number, what: string, timeoutMs = 10_000): Promise<T[]> {
    const start = Date.now();
    while (this.seen.filter(match).length < count) {
      if (Date.now() - start > timeoutMs) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} × ${what} (have ${this.seen.filter(match).length})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.seen.filter(match);
  }
}
