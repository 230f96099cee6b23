// chatsim's XMPP phones (simulator/drivers/xmpp/XmppConnection.ts) as a load generator in their
// own process, for bench/xmppVsTsung.ts: the same session Tsung's scenario runs (arrive at a
// rate, SASL PLAIN login and bind, initial presence, wait for everyone, M chat messages to the
// friend one per interval, linger, close), so the parent can read this process's CPU and RSS.
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
  lingerMs: number;
}

export interface PhonesResult {
  loggedIn: number;
  sent: number;
  received: number;
  rssBeforeBytes: number;
  /** RSS once every user is in (before the messages). */
  rssPlateauBytes: number;
  /** VmHWM at the end: the largest RSS of the whole session. */
  peakRssBytes: number;
  loginFailures: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Arrivals at the given rate, as Tsung's arrival phase: one login started every 1000/rate ms. */
async function arrive(run: PhonesRun, connections: XmppConnection[]): Promise<Array<string | undefined>> {
  const gapMs = 1000 / run.arrivalPerSecond;
  const t0 = performance.now();
  const logins: Array<Promise<string | undefined>> = [];
  for (const [i, connection] of connections.entries()) {
    const dueMs = i * gapMs - (performance.now() - t0);
    if (dueMs > 1) await sleep(dueMs);
    logins.push(connection.start().then((r) => (r.ok ? undefined : `${run.users[i]!.name}: ${r.error.code} ${r.error.message}`)));
  }
  return Promise.all(logins);
}

async function session(run: PhonesRun): Promise<PhonesResult> {
  const rssBeforeBytes = sampleProcess(process.pid)!.rssBytes;
  const connections = run.users.map((u) => new XmppConnection({
    service: run.service, domain: run.domain, username: u.name, password: u.password, resource: 'phone', saslMechanism: 'PLAIN', requestTimeoutMs: 60_000,
  }));
  let received = 0;
  for (const connection of connections) connection.on('message', () => { received += 1; });
  const outcomes = await arrive(run, connections);
  const loginFailures = outcomes.filter((e): e is string => e !== undefined);
  const rssPlateauBytes = sampleProcess(process.pid)!.rssBytes;
  let sent = 0;
  for (let k = 0; k < run.messagesEach; k++) {
    for (const [i, connection] of connections.entries()) {
      if (outcomes[i] !== undefined) continue;
      connection.sendChat(`${run.users[i]!.friend}@${run.domain}`, run.body);
      sent += 1;
    }
    await sleep(run.messageIntervalMs);
  }
  await sleep(run.lingerMs);
  await Promise.all(connections.map((c) => c.stop()));
  return { loggedIn: connections.length - loginFailures.length, sent, received, rssBeforeBytes, rssPlateauBytes, peakRssBytes: sampleProcess(process.pid)!.peakRssBytes, loginFailures: loginFailures.slice(0, 5) };
}

serveParent({ run: (run: PhonesRun) => session(run) });
