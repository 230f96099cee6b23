/**
 * A first measurement of XMPP phones against the real ejabberd (not part of `npm run bench`):
 * N users provisioned through the HTTP API (N/2 friend pairs), N connections logged in 50 at a
 * time, then each sends M messages to its friend; prints CPU per login and per message on both
 * sides (this process, and ejabberd's beam from /proc) and ejabberd's RSS per session.
 * Wall times are printed for orientation only: they depend on what else the machine runs.
 *
 *   bash scripts/ejabberd.sh start
 *   npx tsx bench/xmppScale.ts [phones=500] [PLAIN|SCRAM-SHA-1] [messagesEach=4]
 *
 * Users are removed at the end. Passwords are generated here.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EjabberdAdmin } from '../simulator/targets/ejabberd/EjabberdAdmin.ts';
import { XmppConnection } from '../simulator/drivers/xmpp/XmppConnection.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const phones = Number(process.argv[2] ?? 500);
const mechanism = (process.argv[3] ?? 'PLAIN') as 'PLAIN' | 'SCRAM-SHA-1';
const perPhone = Number(process.argv[4] ?? 4);
const LOGIN_BATCH = 50;
const DELIVERY_WAIT_MS = 120_000;
if (!Number.isInteger(phones) || phones < 2 || phones % 2 !== 0) throw new Error('phones: an even number, at least 2');

const env = Object.fromEntries(execFileSync('bash', [path.join(repo, 'scripts/ejabberd.sh'), 'env'], { encoding: 'utf8' })
  .trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
const status = execFileSync('bash', [path.join(repo, 'scripts/ejabberd.sh'), 'status'], { encoding: 'utf8' });
const beamPid = /pid (\d+)/.exec(status)?.[1];
if (!beamPid) throw new Error(`ejabberd is not running here: ${status}`);

/** ejabberd's CPU time (user + system), ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
function beamCpuMs(): number {
  const fields = readFileSync(`/proc/${beamPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
function beamRssMiB(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${beamPid}/status`, 'utf8'))![1]) / 1024;
}
function clientCpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

const admin = new EjabberdAdmin({ baseUrl: `http://127.0.0.1:${env.EJABBERD_HTTP_PORT}/api`, domain: env.EJABBERD_DOMAIN ?? 'localhost' });
const password = randomBytes(12).toString('base64url');
const tag = randomBytes(3).toString('hex');
const names = Array.from({ length: phones }, (_, i) => `scale-${tag}-${i}`);

let t0 = Date.now();
for (const name of names) {
  const registered = await admin.register(name, password);
  if (!registered.ok) throw new Error(`register ${name}: ${registered.error.code} ${registered.error.message}`);
}
for (let i = 0; i < phones; i += 2) {
  const friends = await admin.makeFriends(names[i]!, names[i + 1]!);
  if (!friends.ok) throw new Error(`friends: ${friends.error.code} ${friends.error.message}`);
}
console.log(`provisioned ${phones} users and ${phones / 2} friendships over HTTP in ${Date.now() - t0} ms`);

const connections = names.map((name) => new XmppConnection({
  service: `xmpp://127.0.0.1:${env.EJABBERD_C2S_PORT}`, domain: env.EJABBERD_DOMAIN ?? 'localhost',
  username: name, password, resource: 'phone', saslMechanism: mechanism, requestTimeoutMs: 60_000,
}));
let received = 0;
for (const connection of connections) connection.on('message', () => { received += 1; });

const rssBefore = beamRssMiB();
let cpu = process.cpuUsage();
let beam = beamCpuMs();
t0 = Date.now();
for (let i = 0; i < phones; i += LOGIN_BATCH) {
  const results = await Promise.all(connections.slice(i, i + LOGIN_BATCH).map((c) => c.start()));
  const failed = results.find((r) => !r.ok);
  if (failed && !failed.ok) throw new Error(`login: ${failed.error.code} ${failed.error.message}`);
}
const rssAfter = beamRssMiB();
console.log(`${phones} logins (${mechanism}, ${LOGIN_BATCH} at a time): CPU per login ${(clientCpuMs(cpu) / phones).toFixed(1)} ms here, `
  + `${((beamCpuMs() - beam) / phones).toFixed(1)} ms in ejabberd; ejabberd RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MiB `
  + `(${(((rssAfter - rssBefore) * 1024) / phones).toFixed(0)} KiB per session); ${Date.now() - t0} ms wall`);

cpu = process.cpuUsage();
beam = beamCpuMs();
t0 = Date.now();
const total = phones * perPhone;
for (let k = 0; k < perPhone; k++) {
  for (let i = 0; i < phones; i++) connections[i]!.sendChat(connections[i ^ 1]!.bareJid, `message ${k}`);
}
while (received < total && Date.now() - t0 < DELIVERY_WAIT_MS) await new Promise((r) => setTimeout(r, 50));
console.log(`${total} messages, ${received} delivered: CPU per message ${(clientCpuMs(cpu) / total).toFixed(2)} ms here (send and receive), `
  + `${((beamCpuMs() - beam) / total).toFixed(2)} ms in ejabberd (routing and MAM, both archives); ${Date.now() - t0} ms wall`);

await Promise.all(connections.map((c) => c.stop()));
for (const name of names) await admin.unregister(name);
if (received < total) process.exitCode = 1;
