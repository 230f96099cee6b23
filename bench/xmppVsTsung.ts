// 7. XMPP load generator efficiency against Tsung (Debian's package, jabber plugin): the same
// chat load against the same ejabberd (scripts/ejabberd.sh) from Tsung and from chatsim's XMPP
// phones (XmppConnection, bench/load/xmppPhones.ts); generator CPU per message and memory per
// connected user, as ratios ours / Tsung. If Tsung cannot be installed or run, the notes say
// why and our figures still stand.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EjabberdAdmin } from '../simulator/targets/ejabberd/EjabberdAdmin.ts';
import { REPO_DIR, startChild } from './lib/child.ts';
import { TreeMonitor } from './lib/proc.ts';
import { tsungConfig, usersCsv, type TsungLoad, type TsungUser } from './lib/tsungConfig.ts';
import { figure, type BenchContext, type BenchOutcome, type Benchmark, type Figure } from './lib/types.ts';
import { round } from './lib/util.ts';
import type { PhonesResult, PhonesRun } from './load/xmppPhones.ts';

const PROFILES = {
  quick: { users: 200, messagesEach: 10, arrivalPerSecond: 50 },
  full: { users: 1000, messagesEach: 20, arrivalPerSecond: 100 },
} as const;
const MESSAGE_INTERVAL_S = 1;
const LINGER_S = 2;
const SETTLE_S = 2;
const BODY = 'chatsim vs tsung';
/** The differential baseline: a run this small measures Tsung's VM start-up, idle and shut-down. */
const BASELINE_USERS = 2;
const SCRATCH = join(REPO_DIR, '.bench-cache', 'tsung');
const run = promisify(execFile);

interface Ejabberd { host: string; port: number; domain: string; admin: EjabberdAdmin }

async function ejabberd(log: (line: string) => void): Promise<Ejabberd> {
  const script = join(REPO_DIR, 'scripts', 'ejabberd.sh');
  const status = await run('bash', [script, 'status']).then(() => true, () => false);
  if (!status) {
    log('  starting ejabberd (scripts/ejabberd.sh start)');
    await run('bash', [script, 'start'], { timeout: 180_000 });
  }
  const { stdout } = await run('bash', [script, 'env']);
  const env = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
  const domain = env.EJABBERD_DOMAIN ?? 'localhost';
  return { host: '127.0.0.1', port: Number(env.EJABBERD_C2S_PORT), domain, admin: new EjabberdAdmin({ baseUrl: `http://127.0.0.1:${env.EJABBERD_HTTP_PORT}/api`, domain }) };
}

/** Tsung's version, installing Debian's package where missing and we are root; else why not. */
async function ensureTsung(log: (line: string) => void): Promise<{ version: string } | { problem: string }> {
  const version = async (): Promise<string | undefined> => {
    try {
      const { stdout, stderr } = await run('tsung', ['-v'], { timeout: 30_000 });
      return `${stdout}${stderr}`.trim().split('\n')[0];
    } catch {
      return undefined;
    }
  };
  const found = await version();
  if (found) return { version: found };
  if (process.getuid?.() !== 0) return { problem: 'tsung is not installed and this is not root (apt-get install tsung)' };
  log('  installing Debian\'s tsung (apt-get install -y tsung; once)');
  try {
    await run('apt-get', ['install', '-y', '--no-install-recommends', 'tsung'], { timeout: 900_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (error) {
    return { problem: `apt-get install -y tsung failed: ${String((error as Error).message).split('\n').slice(0, 3).join(' ')}` };
  }
  const installed = await version();
  return installed ? { version: installed } : { problem: 'tsung was installed but `tsung -v` does not run' };
}

/** Users in pairs of friends (mutual roster), each with its own generated password. */
async function provision(admin: EjabberdAdmin, count: number): Promise<TsungUser[]> {
  const tag = randomBytes(3).toString('hex');
  const users = Array.from({ length: count }, (_, i) => ({ name: `tsung-${tag}-${i}`, password: randomBytes(12).toString('base64url'), friend: `tsung-${tag}-${i ^ 1}` }));
  for (const u of users) {
    const registered = await admin.register(u.name, u.password);
    if (!registered.ok) throw new Error(`register ${u.name}: ${registered.error.code} ${registered.error.message}`);
  }
  for (let i = 0; i < count; i += 2) {
    const friends = await admin.makeFriends(users[i]!.name, users[i + 1]!.name);
    if (!friends.ok) throw new Error(`friends: ${friends.error.code} ${friends.error.message}`);
  }
  return users;
}

interface TsungRun { users: number; cpuSeconds: number; peakRssBytes: number; wallSeconds: number; exitCode: number | null; log: Record<string, number> }

/**
 * Tsung's counters from tsung.log: for `stats: <name> <interval> <total>` lines, the last total
 * (request_noack, error_*, ...) and, under `max_<name>`, the largest (connected at its plateau).
 */
async function tsungStats(logDir: string): Promise<Record<string, number>> {
  const stats: Record<string, number> = {};
  const runs = existsSync(logDir) ? await readdir(logDir) : [];
  for (const sub of runs) {
    const file = join(logDir, sub, 'tsung.log');
    if (!existsSync(file)) continue;
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      const m = /^stats: ([a-z_]+) (-?\d+) (-?\d+)$/.exec(line);
      if (!m) continue;
      stats[m[1]!] = Number(m[3]);
      stats[`max_${m[1]!}`] = Math.max(stats[`max_${m[1]!}`] ?? 0, Number(m[3]));
    }
  }
  return stats;
}

/** One tsung run in its own scratch directory; CPU from /usr/bin/time (the whole tree), peak RSS summed over the tree. */
async function runTsung(name: string, target: Ejabberd, users: TsungUser[], p: { messagesEach: number; arrivalPerSecond: number }): Promise<TsungRun> {
  const dir = join(SCRATCH, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const usersCsvPath = join(dir, 'users.csv');
  await writeFile(usersCsvPath, usersCsv(users), { mode: 0o600 });
  const load: TsungLoad = { host: target.host, port: target.port, domain: target.domain, usersCsvPath, users: users.length, arrivalPerSecond: p.arrivalPerSecond, messagesEach: p.messagesEach, messageIntervalS: MESSAGE_INTERVAL_S, body: BODY, settleS: SETTLE_S, lingerS: LINGER_S };
  await writeFile(join(dir, 'tsung.xml'), tsungConfig(load));
  const timeFile = join(dir, 'time.txt');
  const logDir = join(dir, 'log');
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, 'tsung', '-f', join(dir, 'tsung.xml'), '-l', logDir, '-n', 'start'], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, HOME: dir }, detached: true });
  const monitor = new TreeMonitor(child.pid!, 100);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    // Its own process group: a hung run's Erlang VM goes with it.
    const timer = setTimeout(() => { process.kill(-child.pid!, 'SIGKILL'); reject(new Error(`tsung run ${name} took longer than 5 minutes`)); }, 300_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  const tree = monitor.stop();
  const [user, sys] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
  const cpuSeconds = Number.isFinite(user) && Number.isFinite(sys) ? user! + sys! : tree.cpuSeconds;
  return { users: users.length, cpuSeconds, peakRssBytes: tree.peakRssBytes, wallSeconds, exitCode, log: await tsungStats(logDir) };
}

async function runOurs(target: Ejabberd, users: TsungUser[], p: { messagesEach: number; arrivalPerSecond: number }): Promise<PhonesResult & { cpuSeconds: number }> {
  const phones = await startChild('load/xmppPhones.ts');
  try {
    const c0 = phones.sample().cpuSeconds;
    const args: PhonesRun = { service: `xmpp://${target.host}:${target.port}`, domain: target.domain, users, arrivalPerSecond: p.arrivalPerSecond, messagesEach: p.messagesEach, messageIntervalMs: MESSAGE_INTERVAL_S * 1000, body: BODY, settleMs: SETTLE_S * 1000, lingerMs: LINGER_S * 1000 };
    const result = await phones.request<PhonesResult>('run', args, 600_000);
    return { ...result, cpuSeconds: phones.sample().cpuSeconds - c0 };
  } finally {
    await phones.stop();
  }
}

interface TsungSide { version: string; small: TsungRun; big: TsungRun; cpuPerMessageMs: number; perUserBytes: number }

/** Tsung twice (the baseline pair, then every user), differential CPU and memory. */
async function measureTsung(version: string, target: Ejabberd, users: TsungUser[], p: { messagesEach: number; arrivalPerSecond: number }, notes: string[]): Promise<TsungSide> {
  const small = await runTsung('baseline', target, users.slice(0, BASELINE_USERS), p);
  const big = await runTsung('load', target, users, p);
  for (const r of [small, big]) {
    if (r.exitCode !== 0) notes.push(`tsung (${r.users} users) exited ${r.exitCode}; its log is under .bench-cache/tsung`);
    const errors = Object.entries(r.log).filter(([k]) => k.startsWith('error')).map(([k, v]) => `${k} ${v}`);
    if (errors.length > 0) notes.push(`tsung (${r.users} users) counted ${errors.join(', ')} (${r.log.request_noack ?? 0} no-ack requests sent: presence, messages, close)`);
  }
  // What Tsung sent: each session that got past its login sends presence, M messages and a close, all no_ack.
  const sent = (r: TsungRun): number => ((r.log.request_noack ?? 0) * p.messagesEach) / (p.messagesEach + 2);
  const connected = (r: TsungRun): number => r.log.max_connected ?? r.users;
  const sessions = Math.floor((big.log.request_noack ?? 0) / (p.messagesEach + 2));
  if (sessions < big.users) notes.push(`tsung: only ${sessions} of ${big.users} sessions sent all their messages`);
  return {
    version, small, big, cpuPerMessageMs: ((big.cpuSeconds - small.cpuSeconds) * 1000) / (sent(big) - sent(small)),
    perUserBytes: (big.peakRssBytes - small.peakRssBytes) / (connected(big) - connected(small)),
  };
}

function describe(p: { users: number; messagesEach: number; arrivalPerSecond: number }, tsungVersion: string): string {
  return `Both generators run the same session against the same ejabberd (scripts/ejabberd.sh, loopback, no TLS) with ${p.users} users provisioned over its HTTP API in friend pairs `
    + '(mutual rosters, a generated password per user): users arrive at '
    + `${p.arrivalPerSecond}/s, log in with SASL PLAIN and bind, send initial presence, wait until every user is in, then each sends ${p.messagesEach} chat messages `
    + `("${BODY}") to its friend, one every ${MESSAGE_INTERVAL_S} s, stays ${LINGER_S} s and closes. Tsung (${tsungVersion}, Debian's package, jabber plugin, one controller VM, `
    + 'users from a CSV through setdynvars, the message as raw XML to the friend; config written by bench/lib/tsungConfig.ts into .bench-cache/tsung): CPU of the whole `tsung start` process '
    + 'tree from /usr/bin/time, peak RSS summed over the tree (polled every 100 ms); both less a run of the same session with 2 users (VM start-up, idle, shut-down), divided by the '
    + 'remaining messages and users. Ours: the same users with XmppConnection (bench/load/xmppPhones.ts) in a child process; its CPU from /proc from before the first arrival to after '
    + 'the last close, divided by the messages sent; its peak RSS (VmHWM) less its RSS before the first connect, divided by the users logged in. CPU per message includes each user\'s login '
    + 'and close amortised over its messages, on both sides.';
}

export const xmppVsTsung: Benchmark = {
  name: 'tsung',
  title: 'XMPP load generator efficiency vs Tsung (jabber plugin) against ejabberd',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const p = PROFILES[ctx.profile];
    const notes: string[] = [];
    const details: Record<string, unknown> = { profile: p, messageIntervalS: MESSAGE_INTERVAL_S };
    const target = await ejabberd(ctx.log);
    const tsung = await ensureTsung(ctx.log);
    if ('problem' in tsung) notes.push(`${tsung.problem}; the Tsung side of this benchmark was not measured`);
    const users = await provision(target.admin, p.users);
    let peer: TsungSide | undefined;
    let ours: PhonesResult & { cpuSeconds: number };
    try {
      if ('version' in tsung) {
        peer = await measureTsung(tsung.version, target, users, p, notes);
        ctx.log(`  tsung: ${round(peer.cpuPerMessageMs, 3)} ms CPU per message, ${Math.round(peer.perUserBytes / 1024)} KiB per connected user (${round(peer.big.cpuSeconds, 2)} CPU-s; baseline ${round(peer.small.cpuSeconds, 2)} CPU-s)`);
        details.tsung = peer;
      }
      ours = await runOurs(target, users, p);
    } finally {
      for (const u of users) await target.admin.unregister(u.name);
    }
    if (ours.loggedIn < users.length) notes.push(`ours: only ${ours.loggedIn} of ${users.length} users logged in (${ours.loginFailures.join('; ')})`);
    if (ours.unhandledRejections.length > 0) notes.push(`ours: unhandled rejections in the XMPP client stack: ${ours.unhandledRejections.join('; ')}`);
    if (ours.received < ours.sent) notes.push(`ours: ${ours.received} of ${ours.sent} messages delivered before the close`);
    const oursCpuMs = (ours.cpuSeconds * 1000) / ours.sent;
    const oursBytes = (ours.peakRssBytes - ours.rssBeforeBytes) / ours.loggedIn;
    details.ours = ours;
    ctx.log(`  ours: ${round(oursCpuMs, 3)} ms CPU per message, ${Math.round(oursBytes / 1024)} KiB per connected user (${ours.sent} sent, ${ours.received} received, ${round(ours.cpuSeconds, 2)} CPU-s)`);
    const peerName = peer ? `Tsung ${peer.version.replace(/^Tsung version /i, '')}` : undefined;
    const figures: Figure[] = [
      figure({
        id: 'xmpp-generator-cpu-per-message', label: 'XMPP generator CPU per message vs Tsung', ours: oursCpuMs, unit: 'ms',
        ...(peer ? { peer: peer.cpuPerMessageMs, peerName, ratio: oursCpuMs / peer.cpuPerMessageMs } : { note: 'Tsung not measured (see notes)' }),
        ratioMeaning: 'our generator CPU per chat message / Tsung\'s (lower is better)',
      }),
      figure({
        id: 'xmpp-generator-memory-per-user', label: 'XMPP generator memory per connected user vs Tsung', ours: oursBytes / 1024, unit: 'KiB',
        ...(peer ? { peer: peer.perUserBytes / 1024, peerName, ratio: oursBytes / peer.perUserBytes } : {}),
        ratioMeaning: 'our RSS per connected user / Tsung\'s (lower is better)',
      }),
    ];
    return { method: describe(p, peer?.version ?? 'not run'), figures, details, notes };
  },
};
