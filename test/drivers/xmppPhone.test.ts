// The whole phone app model (simulator/phone) on the XMPP driver against a real ejabberd: two
// phones, one sends, the other renders it and reads it, the sender's ticks go sent, delivered,
// read; the reader, away while two more are sent, catches up on reconnect (offline push or MAM sync).
// Real time (xmpp.js keeps its own timers); waits are bounded. Skipped without ejabberd, as
// test/drivers/xmpp.test.ts is.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { XmppDriver } from '../../simulator/drivers/xmpp/XmppDriver.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { Phone } from '../../simulator/phone/Phone.ts';
import { EjabberdAdmin } from '../../simulator/targets/ejabberd/EjabberdAdmin.ts';
import { ensureEjabberd, registerUsers, stopIfStarted, type EjabberdEndpoints } from '../support/ejabberdRig.ts';
import { RecordingMetrics } from '../phone/fixtures.ts';

const ready = await ensureEjabberd();
const endpoints = (ready.ok ? ready.endpoints : undefined) as EjabberdEndpoints;
afterAll(() => stopIfStarted(endpoints));

describe.skipIf(!ready.ok)(`phones on the XMPP driver against ejabberd${ready.ok ? '' : ` (skipped: ${ready.reason})`}`, () => {
  const phones: Phone[] = [];
  afterEach(() => { for (const phone of phones.splice(0)) phone.stop(); });

  it('send, render, ticks to read, and a sync after an absence', async () => {
    const admin = new EjabberdAdmin({ baseUrl: endpoints.apiUrl, domain: endpoints.domain, mucDomain: endpoints.mucDomain });
    const [a, b] = await registerUsers(admin, ['alice', 'bob']);
    await admin.makeFriends(a!.name, b!.name);
    const time = createSystemTime();
    const events: HistoryEvent[] = [];
    const driverA = new XmppDriver({ user: a!.name, device: 'd1', domain: endpoints.domain, saslMechanism: 'PLAIN', time });
    const chat = driverA.directChat(b!.name);
    const phoneOf = (user: { name: string; password: string }, driver: XmppDriver, seed: number) => new Phone({
      user: user.name, device: 'd1', token: user.password, gatewayUrls: [endpoints.service], chats: [{ id: chat, kind: 'direct', members: [a!.name, b!.name] }],
      friends: [user === a ? b!.name : a!.name], driver, time, random: new SeededRandom(seed), history: { record: (e) => events.push(e) }, metrics: new RecordingMetrics(), startMs: time.nowMs(),
    });
    const alice = phoneOf(a!, driverA, 1);
    const driverB = new XmppDriver({ user: b!.name, device: 'd1', domain: endpoints.domain, saslMechanism: 'PLAIN', time });
    let bob = phoneOf(b!, driverB, 2);
    phones.push(alice, bob);
    const until = async (probe: () => boolean, what: string): Promise<void> => {
      for (let i = 0; i < 300 && !probe(); i++) await new Promise((r) => setTimeout(r, 20));
      if (!probe()) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.slice(-8))}`);
    };
    const of = (type: string, p: string) => events.filter((e) => e.type === type && e.p === p) as Array<HistoryEvent & Record<string, unknown>>;

    alice.start();
    bob.start();
    await until(() => alice.state().phase === 'ready' && bob.state().phase === 'ready', 'both ready');
    bob.setForeground(true);
    bob.openChat(chat);
    const id = alice.send(chat, 'hello over xmpp');
    await until(() => of('tick', `${a!.name}/d1`).some((e) => e.clientMsgId === id && e.tick === 'read'), 'the read tick');
    expect(of('tick', `${a!.name}/d1`).filter((e) => e.clientMsgId === id).map((e) => e.tick)).toEqual(['sent', 'delivered', 'read']);
    expect(of('render', `${b!.name}/d1`)).toMatchObject([{ chat, seq: 1, from: a!.name, clientMsgId: id }]);

    bob.stop();
    const missed = [alice.send(chat, 'while away 1'), alice.send(chat, 'while away 2')];
    await until(() => missed.every((m) => of('tick', `${a!.name}/d1`).some((e) => e.clientMsgId === m && e.tick === 'sent')), 'both stored');
    bob = phoneOf(b!, driverB, 3); // the same device again (its driver keeps its positions, as its store would)
    phones.push(bob);
    bob.store.restoreWatermarks({ [chat]: 1 });
    bob.start();
    await until(() => missed.every((m) => of('render', `${b!.name}/d1`).some((e) => e.clientMsgId === m)), 'the missed messages rendered');
    // ejabberd keeps what a cleanly logged-out user missed (mod_offline) and pushes it at login,
    // before the MAM sync answers: numbered once, in order, whichever comes first.
    expect(of('render', `${b!.name}/d1`).filter((e) => missed.includes(e.clientMsgId as string)).map((e) => e.seq)).toEqual([2, 3]);
  }, 30_000);

  it('a group (MUC room): two devices of one user join with one nick; a send is rendered by the other member and by the sender\'s other device; ticks stop at sent', async () => {
    const admin = new EjabberdAdmin({ baseUrl: endpoints.apiUrl, domain: endpoints.domain, mucDomain: endpoints.mucDomain });
    const [a, b] = await registerUsers(admin, ['alice-g', 'bob-g']);
    const room = `room-${a!.name}`;
    expect(await admin.provisionRoom(room, [a!.name, b!.name])).toEqual({ ok: true, value: undefined });
    const chat = `g:${room}`;
    const time = createSystemTime();
    const events: HistoryEvent[] = [];
    const phoneOf = (user: { name: string; password: string }, device: string, seed: number) => new Phone({
      user: user.name, device, token: user.password, gatewayUrls: [endpoints.service], chats: [{ id: chat, kind: 'group', members: [a!.name, b!.name] }],
      friends: [], driver: new XmppDriver({ user: user.name, device, domain: endpoints.domain, mucDomain: endpoints.mucDomain, saslMechanism: 'PLAIN', time }),
      time, random: new SeededRandom(seed), history: { record: (e) => events.push(e) }, metrics: new RecordingMetrics(), startMs: time.nowMs(),
    });
    const alice1 = phoneOf(a!, 'd1', 1);
    const alice2 = phoneOf(a!, 'd2', 2);
    const bob = phoneOf(b!, 'd1', 3);
    phones.push(alice1, alice2, bob);
    const until = async (probe: () => boolean, what: string): Promise<void> => {
      for (let i = 0; i < 300 && !probe(); i++) await new Promise((r) => setTimeout(r, 20));
      if (!probe()) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.slice(-8))}`);
    };
    const of = (type: string, p: string) => events.filter((e) => e.type === type && e.p === p) as Array<HistoryEvent & Record<string, unknown>>;
    for (const phone of phones) phone.start();
    await until(() => phones.every((phone) => phone.state().phase === 'ready'), 'all ready');
    const id = alice1.send(chat, 'hello room');
    await until(() => of('render', `${b!.name}/d1`).some((e) => e.clientMsgId === id) && of('render', `${a!.name}/d2`).some((e) => e.clientMsgId === id), 'rendered by bob and alice\'s other device');
    expect(of('render', `${b!.name}/d1`)).toMatchObject([{ chat, from: a!.name, clientMsgId: id }]);
    expect(of('render', `${a!.name}/d2`)).toMatchObject([{ chat, from: a!.name, clientMsgId: id }]);
    expect(of('tick', `${a!.name}/d1`).filter((e) => e.clientMsgId === id).map((e) => e.tick)).toEqual(['sent']);
    await admin.destroyRoom(room);
  }, 30_000);
});
