// The XMPP driver's XEP-0352 client state and XEP-0280 carbons against a real ejabberd
// (scripts/ejabberd.sh): what the drivers' contract cannot say for every driver. The
// multi-device cases every driver passes are in driverContract.ts. Skipped without ejabberd, as
// test/drivers/xmpp.test.ts is (a failure with CI=true there).
import { xml } from '@xmpp/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { XmppDriver } from '../../simulator/drivers/xmpp/XmppDriver.ts';
import { NS, type XmppConnection } from '../../simulator/drivers/xmpp/XmppConnection.ts';
import { EjabberdAdmin } from '../../simulator/targets/ejabberd/EjabberdAdmin.ts';
import { connectionFor, ensureEjabberd, registerUsers, stopIfStarted, type EjabberdEndpoints, type TestUser } from '../support/ejabberdRig.ts';
import { Probe, type DriverRig, type RigDevice } from './driverContract.ts';

const ready = await ensureEjabberd();
const endpoints = (ready.ok ? ready.endpoints : undefined) as EjabberdEndpoints;
afterAll(() => stopIfStarted(endpoints));

const waits = { patienceTicks: 250, tick: () => new Promise<void>((resolve) => setTimeout(resolve, 20)) } as unknown as DriverRig;

describe.skipIf(!ready.ok)(`XMPP driver: client state (XEP-0352) and carbons (XEP-0280) against ejabberd${ready.ok ? '' : ` (skipped: ${ready.reason})`}`, () => {
  const probes: Probe[] = [];
  const connections: XmppConnection[] = [];
  let admin: EjabberdAdmin;
  afterEach(async () => {
    for (const probe of probes.splice(0)) probe.session.close(1000, 'test over');
    for (const c of connections.splice(0)) await c.stop();
  });

  const users = async (...prefixes: string[]): Promise<TestUser[]> => {
    admin ??= new EjabberdAdmin({ baseUrl: endpoints.apiUrl, domain: endpoints.domain, mucDomain: endpoints.mucDomain });
    const made = await registerUsers(admin, prefixes);
    if (made.length >= 2) expect((await admin.makeFriends(made[0]!.name, made[1]!.name)).ok).toBe(true);
    return made;
  };
  const device = (user: TestUser, name = 'phone'): RigDevice => ({
    user: user.name, device: name, endpoint: endpoints.service, token: user.password,
    driver: new XmppDriver({ user: user.name, device: name, domain: endpoints.domain, saslMechanism: 'PLAIN' }),
  });
  const open = async (d: RigDevice): Promise<Probe> => {
    const probe = new Probe(d, waits);
    probes.push(probe);
    await probe.waitFor('session');
    return probe;
  };
  /** A raw connection of `user` that can write any stanza (a client that does not follow the rules). */
  const rawClient = async (user: TestUser, resource: string): Promise<(stanza: unknown) => Promise<void>> => {
    const c = connectionFor(endpoints, user, { resource });
    connections.push(c);
    expect((await c.start()).ok).toBe(true);
    const entity = (c as unknown as { entity: { send(stanza: unknown): Promise<void> } }).entity;
    return (stanza) => entity.send(stanza);
  };

  it('background: inactive is sent (ejabberd then holds typing), active on return; typing held meanwhile is dropped as stale, live typing shows', async () => {
    const [a, b] = await users('alice-csi', 'bob-csi');
    const bob = await open(device(b!));
    const alice = await open(device(a!));
    const chat = (alice.device.driver as XmppDriver).directChat(b!.name);
    bob.send({ kind: 'app-state', foreground: false });
    expect(bob.metrics.count('xmpp.csi.inactive')).toBe(1); // ejabberd offers csi in its stream features
    bob.send({ kind: 'app-state', foreground: false }); // the same state again: nothing more to say
    expect(bob.metrics.count('xmpp.csi.inactive')).toBe(1);
    await roundTrip(bob); // bob's inactive is at the server before alice types
    alice.send({ kind: 'typing', chat });
    // Round trips through both sessions: the typing was routed to bob's session and held there.
    const held = await sendAndHear(alice, bob, chat, 'after the typing');
    expect(held).toBeDefined();
    // A message from alice makes ejabberd release what it held of hers (with a delay stamp) before it.
    expect(bob.of('typing')).toEqual([]);
    await until(() => bob.metrics.count('xmpp.chatStates.stale') === 1, 'the held typing released with its delay and dropped');
    bob.send({ kind: 'app-state', foreground: true });
    expect(bob.metrics.count('xmpp.csi.active')).toBe(1);
    alice.send({ kind: 'typing', chat });
    expect(await bob.waitFor('typing')).toMatchObject({ chat, user: a!.name });
  });

  it('background: while inactive, ejabberd holds typing until active (then it comes stamped, and is not shown)', async () => {
    const [a, b] = await users('alice-csi2', 'bob-csi2');
    const bob = await open(device(b!));
    const alice = await open(device(a!));
    const chat = (alice.device.driver as XmppDriver).directChat(b!.name);
    bob.send({ kind: 'app-state', foreground: false });
    // bob's inactive is at the server before alice types (two connections: no order between them otherwise).
    await roundTrip(bob);
    alice.send({ kind: 'typing', chat });
    // alice's session routed the typing before answering her ping, so it is in bob's session
    // before his ping is answered: after both, it was either delivered or held.
    await roundTrip(alice);
    await roundTrip(bob);
    expect(bob.of('typing')).toEqual([]);
    expect(bob.metrics.count('xmpp.chatStates.stale')).toBe(0);
    bob.send({ kind: 'app-state', foreground: true });
    await until(() => bob.metrics.count('xmpp.chatStates.stale') === 1, 'the held typing released on active');
    expect(bob.of('typing')).toEqual([]);
  });

  it('carbons: one device sees the other\'s sent and received messages once, and a MAM sync after them adds no copy', async () => {
    const [a, b] = await users('alice-cc', 'bob-cc');
    const tablet = await open(device(a!, 'tablet'));
    const phone = await open(device(a!, 'phone'));
    const bob = await open(device(b!));
    expect(tablet.metrics.count('xmpp.carbons.enabled')).toBe(1);
    const chat = (phone.device.driver as XmppDriver).directChat(b!.name);
    const sent = await sendAndHear(phone, bob, chat, 'sent from the phone');
    const fromBob = await sendAndHear(bob, phone, chat, 'from bob');
    const sentCopy = await tablet.waitFor('message', (e) => e.message.clientMsgId === sent, 'the sent carbon');
    expect(sentCopy.message).toMatchObject({ from: a!.name, fromDevice: 'phone', body: 'sent from the phone' });
    const receivedCopy = await tablet.waitFor('message', (e) => e.message.clientMsgId === fromBob, 'the received carbon');
    expect(receivedCopy.message).toMatchObject({ from: b!.name, body: 'from bob' });
    // The archive holds both; a sync from nothing gives them at the positions the carbons took, and no new message event.
    tablet.send({ kind: 'sync', mode: 'positions', id: 'sync-all', positions: { [chat]: 0 } });
    const page = await tablet.waitFor('sync-page', (e) => e.ref === 'sync-all');
    const messages = page.chats.find((c) => c.chat === chat)!.messages;
    expect(messages.map((m) => [m.clientMsgId, m.seq])).toEqual([[sent, sentCopy.message.seq], [fromBob, receivedCopy.message.seq]]);
    expect(tablet.of('message')).toHaveLength(2);
  });

  it('a forged carbon (a wrapper not from the user\'s own bare JID) is ignored', async () => {
    const [a, b, m] = await users('alice-fc', 'bob-fc', 'mallory-fc');
    expect((await admin.makeFriends(a!.name, m!.name)).ok).toBe(true);
    const alice = await open(device(a!));
    const chat = (alice.device.driver as XmppDriver).directChat(b!.name);
    const forge = (kind: 'received' | 'sent', body: string) => xml('message', { to: `${a!.jid}/phone`, type: 'chat', id: `forged-${kind}` },
      xml(kind, { xmlns: NS.carbons }, xml('forwarded', { xmlns: NS.forward },
        xml('message', kind === 'received' ? { from: `${b!.jid}/x`, to: `${a!.jid}/phone`, type: 'chat', id: `inner-${kind}` } : { from: `${a!.jid}/phone2`, to: b!.jid, type: 'chat', id: `inner-${kind}` },
          xml('body', {}, body), xml('origin-id', { xmlns: NS.sid, id: `inner-${kind}` })))));
    const ignored: string[] = [];
    (alice.session as unknown as { connection: XmppConnection }).connection.on('warning', (w) => { if (/ignored a carbon/.test(w.message)) ignored.push(w.message); });
    const mallory = await rawClient(m!, 'laptop');
    await mallory(forge('received', 'forged: bob never said this'));
    await mallory(forge('sent', 'forged: alice never sent this'));
    // alice's own other resource is a client too, not her server: a full JID is no carbon source either.
    const ownOther = await rawClient(a!, 'phone2');
    await ownOther(forge('received', 'forged by a full JID'));
    // They reach alice's client (ejabberd routes them), which is what makes this test able to fail.
    await until(() => ignored.length === 3, 'the three forged carbons at alice');
    const bob = await open(device(b!));
    await sendAndHear(bob, alice, chat, 'the real one');
    expect(alice.of('message').map((e) => e.message.body)).toEqual(['the real one']);
  });

  it('presence-query: a friend not heard from on this session is asked by XEP-0012 last activity (online while it has a session)', async () => {
    const [a, b, c] = await users('alice-pq', 'bob-pq', 'carol-pq');
    expect((await admin.makeFriends(a!.name, c!.name)).ok).toBe(true);
    // bob has a session but announces no presence: nothing is pushed to alice about him.
    const bobSilent = connectionFor(endpoints, b!, { announcePresence: false });
    connections.push(bobSilent);
    expect((await bobSilent.start()).ok).toBe(true);
    const alice = await open(device(a!));
    alice.send({ kind: 'presence-query', id: 'pq-1', users: [b!.name, c!.name] });
    const answer = await alice.waitFor('presence-result', (e) => e.ref === 'pq-1');
    expect(answer.users).toEqual([{ user: b!.name, online: true }, { user: c!.name, online: false }]);
    expect(alice.of('presence').filter((e) => e.user === b!.name)).toEqual([]);
  });
});

async function sendAndHear(from: Probe, to: Probe, chat: string, body: string): Promise<string> {
  const clientMsgId = `${from.device.user}-${Math.random().toString(36).slice(2, 10)}`;
  from.send({ kind: 'send', chat, clientMsgId, body });
  await from.waitFor('stored', (e) => e.clientMsgId === clientMsgId, `stored ${body}`);
  await to.waitFor('message', (e) => e.message.clientMsgId === clientMsgId, body);
  return clientMsgId;
}

/** An XEP-0199 ping of the server through the probe's XMPP session, answered. */
async function roundTrip(probe: Probe): Promise<void> {
  const connection = (probe.session as unknown as { connection: XmppConnection }).connection;
  expect(await connection.ping()).toEqual({ ok: true, value: undefined });
}

async function until(probe: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
