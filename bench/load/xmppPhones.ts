// chatsim's XMPP phones (simulator/drivers/xmpp/XmppConnection.ts) as a load generator in their
// own process, for bench/xmppVsTsung.ts: the same session Tsung's scenario runs (arrive at a
// rate, SASL PLAIN login and bind, initial presence, settle, M chat messages to the friend one
// per interval, linger, close; each user on its own clock), so the parent can read this process's CPU and RSS.
import { XmppConnection } from '../../simulator/drivers/xmpp/XmppConnection.ts';
import { serveParent } from '../lib/child.ts';
import { sampleProcess } from '../lib/proc.ts';
import type { TsungUser } from '../lib/tsungConfig.ts';

export interface PhonesRun {
  service: string;
  domain: string;
  users: TsungUser[];
  arrivalPerSecond: number;
  messagesEach: number;
  messageIntervalMs: number;
  body: string;
  settleMs: number;
  lingerMs: number;
}

export interface PhonesResult {
  loggedIn: number;
  sent: number;
  received: number;
  rssBeforeBytes: number;
  /** VmHWM at the end: the largest RSS of the whole session. */
  peakRssBytes: number;
  loginFailures: string[];
  /** Promise rejections nothing handled (seen: ECONNRESET from a socket under load), counted, not fatal. */
  unhandledRejections: string[];
}

// A rejection inside the XMPP client stack (not ours to await) must not end the measurement:
// it is counted and reported next to the figures.
const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => { unhandled.push(String(reason)); });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One user's session, as Tsung's scenario runs it; answers the login failure, if any. */
async function userSession(run: PhonesRun, connection: XmppConnection, user: TsungUser, counts: { sent: number }): Promise<string | undefined> {
  const login = await connection.start();
  if (!login.ok) return `${user.name}: ${login.error.code} ${login.error.message}`;
  await sleep(run.settleMs);
  for (let k = 0; k < run.messagesEach; k++) {
    connection.sendChat(`${user.friend}@${run.domain}`, run.body);
    counts.sent += 1;
    await sleep(run.messageIntervalMs);
  }
  await sleep(run.lingerMs);
  await connection.stop();
  return undefined;
}

/** Arrivals at the given rate, as Tsung's arrival phase: one session started every 1000/rate ms. */
async function session(run: PhonesRun): Promise<PhonesResult> {
  const rssBeforeBytes = sampleProcess(process.pid)!.rssBytes;
  const counts = { sent: 0, received: 0 };
  const gapMs = 1000 / run.arrivalPerSecond;
  const t0 = performance.now();
  const sessions: Array<Promise<string | undefined>> = [];
  for (const [i, user] of run.users.entries()) {
    const dueMs = i * gapMs - (performance.now() - t0);
    if (dueMs > 1) await sleep(dueMs);
    const connection = new XmppConnection({
      service: run.service, domain: run.domain, username: user.name, password: user.password, resource: 'phone', saslMechanism: 'PLAIN', requestTimeoutMs: 60_000,
    });
    connection.on('message', () => { counts.received += 1; });
    sessions.push(userSession(run, connection, user, counts).catch((error: unknown) => `${user.name}: ${String(error)}`));
  }
  const loginFailures = (await Promise.all(sessions)).filter((e): e is string => e !== undefined);
  return {
    loggedIn: run.users.length - loginFailures.length, sent: counts.sent, received: counts.received, rssBeforeBytes,
    peakRssBytes: sampleProcess(process.pid)!.peakRssBytes, loginFailures: loginFailures.slice(0, 5),
    unhandledRejections: [...new Set(unhandled)].slice(0, 5).concat(unhandled.length > 0 ? [`${unhandled.length} in all`] : []),
  };
}

serveParent({ run: (run: PhonesRun) => session(run) });
