/**
 * The XMPP client layer (simulator/drivers/xmpp/XmppConnection.ts) and provisioning
 * (simulator/targets/ejabberd/EjabberdAdmin.ts) against a real ejabberd, Debian's package with
 * chatsim's configuration (scripts/ejabberd.sh). ejabberd is started through the script when it
 * is not running (and stopped again at the end if this file started it). Without one, the file
 * is skipped with the reason, except with CI=true, where that is a failure: CI must prove these
 * ran.
 *
 * Every user has a name and a password made for this run. Waits are bounded (10 s each);
 * nothing asserts a duration.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EjabberdAdmin } from '../../simulator/targets/ejabberd/EjabberdAdmin.ts';
import type { IncomingMessage, MarkerKind, PresenceUpdate, XmppConnection, XmppConnectionOptions } from '../../simulator/drivers/xmpp/XmppConnection.ts';
import { connectionFor, ensureEjabberd, newPassword, Recorder, registerUsers, stopIfStarted, uniqueUser } from '../support/ejabberdRig.ts';
import type { EjabberdEndpoints, TestUser } from '../support/ejabberdRig.ts';

const inCi = process.env.CI === 'true';
const ready = await ensureEjabberd();
const skipReason = ready.ok ? '' : `no ejabberd (${ready.reason}); start one with: bash scripts/ejabberd.sh start`;
if (!ready.ok && !inCi) console.warn(`[ejabberd.test] skipped: ${skipReason}`);

if (!ready.ok && inCi) {
  describe('ejabberd', () => {
    it('is running or can be started (required when CI=true)', () => {
      throw new Error(`CI=true but ${skipReason}`);
    });
  });
}

type Marker = { from: string; kind: MarkerKind; id: string; type: string };

describe.skipIf(!ready.ok)(`XMPP against ejabberd${ready.ok ? '' : ` (skipped: ${skipReason})`}`, () => {
  const endpoints = (ready.ok ? ready.endpoints : undefined) as EjabberdEndpoints;
  let admin: EjabberdAdmin;
  const open: XmppConnection[] = [];

  /** Log in; `before` runs first (to record events that come with the login). */
  const connect = async (user: TestUser, before?: (c: XmppConnection) => void, extra: Partial<XmppConnectionOptions> = {}): Promise<XmppConnection> => {
    const connection = connectionFor(endpoints, user, extra);
    open.push(connection);
    before?.(connection);
    const started = await connection.start();
    if (!started.ok) throw new Error(`${user.name} could not log in: ${started.error.code} ${started.error.message}`);
    return connection;
  };

  beforeAll(() => {
    admin = new EjabberdAdmin({ baseUrl: endpoints.apiUrl, domain: endpoints.domain, mucDomain: endpoints.mucDomain });
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.stop()));
  });

  afterAll(async () => {
    await stopIfStarted(endpoints);
  });

  it('provisioning answers errors as values with stable codes', async () => {
    const [alice] = await registerUsers(admin, ['prov']);
    const again = await admin.register(alice!.name, newPassword());
    expect(again).toMatchObject({ ok: false, error: { code: 'user_exists', command: 'register' } });
    expect(await admin.ensureUser(alice!.name, newPassword())).toEqual({ ok: true, value: undefined });

    const room = uniqueUser('room-prov');
    expect(await admin.provisionRoom(room, [alice!.name])).toEqual({ ok: true, value: undefined });
    expect(await admin.createRoom({ name: room })).toMatchObject({ ok: false, error: { code: 'room_exists' } });
    expect(await admin.setRoomAffiliation(uniqueUser('no-room'), alice!.name, 'member')).toMatchObject({ ok: false, error: { code: 'no_such_room' } });
    expect(await admin.call('no_such_command', {})).toMatchObject({ ok: false, error: { code: 'unknown_command', httpStatus: 404 } });

    const closed = new EjabberdAdmin({ baseUrl: 'http://127.0.0.1:9/api', domain: endpoints.domain });
    expect(await closed.status()).toMatchObject({ ok: false, error: { code: 'unreachable' } });
    expect(await admin.destroyRoom(room)).toEqual({ ok: true, value: undefined });
  });

  it('logs in with SASL (SCRAM-SHA-1 and PLAIN); a wrong password is auth_failed', async () => {
    const [alice] = await registerUsers(admin, ['login']);
    const connection = await connect(alice!, undefined, { saslMechanism: 'SCRAM-SHA-1' });
    expect(connection.online).toBe(true);
    expect(connection.jid).toBe(`${alice!.jid}/phone`);
    expect(connection.smId).not.toBe('');

    const plain = await connect(alice!, undefined, { resource: 'tablet' });
    expect(plain.jid).toBe(`${alice!.jid}/tablet`);

    for (const saslMechanism of ['SCRAM-SHA-1', 'PLAIN'] as const) {
      const wrong = connectionFor(endpoints, { ...alice!, password: newPassword() }, { saslMechanism });
      open.push(wrong);
      expect(await wrong.start()).toMatchObject({ ok: false, error: { code: 'auth_failed', condition: 'not-authorized' } });
    }
  });

  it('delivers a 1:1 message, acknowledged by the server, with a 0184 receipt, a 0333 displayed marker and 0085 typing', async () => {
    const [alice, bob] = await registerUsers(admin, ['alice', 'bob']);
    const a = await connect(alice!);
    const b = await connect(bob!);
    const bInbox = new Recorder<IncomingMessage>(b, 'message');
    const bStates = new Recorder<{ from: string; state: string }>(b, 'chatState');
    const aAcked = new Recorder<{ id: string }>(a, 'acked');
    const aReceipts = new Recorder<{ from: string; id: string }>(a, 'receipt');
    const aMarkers = new Recorder<Marker>(a, 'marker');

    a.sendChatState(bob!.jid, 'composing');
    expect(await bStates.waitFor((s) => s.from === alice!.jid && s.state === 'composing', 'typing at bob')).toBeTruthy();

    const id = a.sendChat(bob!.jid, 'hello bob');
    await aAcked.waitFor((x) => x.id === id, 'the server ack (0198) of the message');
    const got = await bInbox.waitFor((m) => m.id === id, 'the message at bob');
    expect(got).toMatchObject({ type: 'chat', from: alice!.jid, body: 'hello bob', originId: id, receiptRequested: true, markable: true });
    expect(got.stanzaId).toMatch(/\S/);

    b.sendReceipt(alice!.jid, got.id);
    expect(await aReceipts.waitFor((r) => r.id === id, 'the 0184 receipt at alice')).toEqual({ from: bob!.jid, id });
    b.sendMarker(alice!.jid, got.id, 'displayed');
    expect(await aMarkers.waitFor((m) => m.id === id, 'the displayed marker at alice')).toMatchObject({ from: bob!.jid, kind: 'displayed', id, type: 'chat' });
  });

  it('resumes a dropped TCP link with 0198 and loses nothing, in either direction', async () => {
    const [alice, bob] = await registerUsers(admin, ['alice-sm', 'bob-sm']);
    const a = await connect(alice!);
    const b = await connect(bob!);
    const bInbox = new Recorder<IncomingMessage>(b, 'message');
    const aInbox = new Recorder<IncomingMessage>(a, 'message');
    const bResumed = new Recorder<void>(b, 'resumed');
    const aResumed = new Recorder<void>(a, 'resumed');
    const lost = new Recorder<void>(b, 'sessionLost');
    const smId = b.smId;

    // Bob's link drops; what Alice sends meanwhile waits in Bob's session on the server.
    b.dropLink();
    const toBob = Array.from({ length: 5 }, (_, i) => a.sendChat(bob!.jid, `while bob was away ${i}`));
    await bResumed.waitFor(() => true, 'bob resuming');
    const bobGot = await bInbox.waitForCount((m) => m.from === alice!.jid, toBob.length, 'messages at bob');
    expect(bobGot.map((m) => m.id)).toEqual(toBob);

    // Alice's link drops; what she sends meanwhile waits here and goes out after resumption.
    a.dropLink();
    const toAlice = Array.from({ length: 5 }, (_, i) => a.sendChat(bob!.jid, `sent while alice was away ${i}`));
    b.sendChat(alice!.jid, 'to alice while she was away');
    await aResumed.waitFor(() => true, 'alice resuming');
    const bobGotMore = await bInbox.waitForCount((m) => m.from === alice!.jid, toBob.length + toAlice.length, 'messages at bob');
    expect(bobGotMore.map((m) => m.id)).toEqual([...toBob, ...toAlice]);
    await aInbox.waitFor((m) => m.body === 'to alice while she was away', 'bob\'s message at alice');

    expect(b.smId).toBe(smId);
    expect(lost.seen).toEqual([]);
    // No duplicates after resumption.
    expect(new Set(bInbox.seen.map((m) => m.id)).size).toBe(bInbox.seen.length);
  });

  it('MAM answers the messages after a given stanza id, in server order', async () => {
    const [alice, bob] = await registerUsers(admin, ['alice-mam', 'bob-mam']);
    const a = await connect(alice!);
    const b = await connect(bob!);
    const bInbox = new Recorder<IncomingMessage>(b, 'message');
    const ids = Array.from({ length: 6 }, (_, i) => a.sendChat(bob!.jid, `archived ${i}`));
    const live = await bInbox.waitForCount((m) => m.from === alice!.jid, ids.length, 'messages at bob');
    expect(live.map((m) => m.id)).toEqual(ids);
    const position = live[1]!.stanzaId!;
    expect(position).toBeTruthy();

    // Page size 2 so the answer spans pages (RSM), and the order holds across them.
    const after = await b.mamFetchAll({ with: alice!.jid, afterId: position, max: 2 });
    expect(after.ok).toBe(true);
    if (!after.ok) return;
    expect(after.value.map((m) => m.originId)).toEqual(ids.slice(2));
    expect(after.value.map((m) => m.archiveId)).toEqual(live.slice(2).map((m) => m.stanzaId));
    expect(after.value.every((m) => m.from.startsWith(alice!.jid))).toBe(true);

    // Alice's own archive holds the same messages, under ids of her archive.
    const mine = await a.mamFetchAll({ with: bob!.jid });
    expect(mine.ok && mine.value.map((m) => m.originId)).toEqual(ids);
  });

  it('presence flows between mutual roster friends, and not to a stranger', async () => {
    const [alice, bob, carol] = await registerUsers(admin, ['alice-pres', 'bob-pres', 'carol-pres']);
    expect(await admin.makeFriends(alice!.name, bob!.name)).toEqual({ ok: true, value: undefined });
    const a = await connect(alice!);
    const roster = await a.getRoster();
    expect(roster.ok && roster.value.map((r) => [r.jid, r.subscription])).toEqual([[bob!.jid, 'both']]);
    const aPresence = new Recorder<PresenceUpdate>(a, 'presence');
    const c = await connect(carol!);
    const cPresence = new Recorder<PresenceUpdate>(c, 'presence');

    let bPresence!: Recorder<PresenceUpdate>;
    const b = await connect(bob!, (c) => { bPresence = new Recorder<PresenceUpdate>(c, 'presence'); });
    await aPresence.waitFor((p) => p.from === bob!.jid && p.available, 'bob online at alice');
    // Bob's initial presence probes his roster: Alice, online, answers.
    await bPresence.waitFor((p) => p.from === alice!.jid && p.available, 'alice online at bob');

    await b.stop();
    await aPresence.waitFor((p) => p.from === bob!.jid && !p.available, 'bob offline at alice');
    // Carol is on nobody's roster: she saw nothing of either (Alice's presence went out before
    // Carol's recorder existed, Bob's after; both only to friends).
    expect(cPresence.seen).toEqual([]);
  });

  it('a session that cannot be resumed (kicked) becomes a new one: rooms rejoined, nothing refused by the server', async () => {
    const [alice, bob] = await registerUsers(admin, ['alice-kick', 'bob-kick']);
    const room = uniqueUser('room-kick');
    expect(await admin.provisionRoom(room, [alice!.name, bob!.name])).toEqual({ ok: true, value: undefined });
    const roomJid = admin.roomJid(room);
    const a = await connect(alice!);
    const b = await connect(bob!);
    const bLost = new Recorder<void>(b, 'sessionLost');
    const bOnline = new Recorder<string>(b, 'online');
    const bWarnings = new Recorder<Error>(b, 'warning');
    const bInbox = new Recorder<IncomingMessage>(b, 'message');
    expect(await a.joinRoom(roomJid, alice!.name)).toEqual({ ok: true, value: undefined });
    expect(await b.joinRoom(roomJid, bob!.name)).toEqual({ ok: true, value: undefined });
    const smId = b.smId;

    expect(await admin.kickSession(bob!.name, 'phone')).toEqual({ ok: true, value: undefined });
    await bLost.waitFor(() => true, 'bob\'s session lost');
    await bOnline.waitFor(() => true, 'bob online again');
    expect(b.smId).not.toBe(smId);

    const direct = a.sendChat(bob!.jid, 'after the kick');
    const group = a.sendGroupchat(roomJid, 'to the room after the kick');
    await bInbox.waitFor((m) => m.id === direct, 'the direct message at bob');
    await bInbox.waitFor((m) => m.id === group && m.type === 'groupchat', 'the room message at bob (rejoined)');
    // One new session, not a second: the server closed no stream for a wrong ack count (xmpp.js
    // counts stanzas asynchronously; XmppConnection sends nothing until <enabled/>).
    expect(bLost.seen.length).toBe(1);
    expect(bWarnings.seen.map((w) => w.message).filter((m) => /acknowledged more/.test(m))).toEqual([]);
  });

  it('a client in the background (XEP-0352 inactive) gets typing only when it is active again', async () => {
    const [alice, bob] = await registerUsers(admin, ['alice-csi', 'bob-csi']);
    const a = await connect(alice!);
    const b = await connect(bob!);
    const bStates = new Recorder<{ from: string; state: string }>(b, 'chatState');
    await b.setClientState('inactive');
    expect(await b.ping()).toEqual({ ok: true, value: undefined }); // the server has read <inactive/>
    a.sendChatState(bob!.jid, 'composing');
    // Alice's session routed the chat state before answering her ping, so it is in Bob's
    // session's mailbox before his ping: after both, it was either queued or delivered.
    expect(await a.ping()).toEqual({ ok: true, value: undefined });
    expect(await b.ping()).toEqual({ ok: true, value: undefined });
    expect(bStates.seen).toEqual([]);
    await b.setClientState('active');
    expect(await bStates.waitFor((s) => s.state === 'composing', 'typing flushed on active')).toMatchObject({ from: alice!.jid });
  });

  it('carbons (XEP-0280) copy a user\'s traffic to the other device', async () => {
    const [alice, bob] = await registerUsers(admin, ['alice-cc', 'bob-cc']);
    const a = await connect(alice!);
    const phone = await connect(bob!);
    const tablet = connectionFor(endpoints, bob!, { resource: 'tablet' });
    open.push(tablet);
    expect((await tablet.start()).ok).toBe(true);
    expect(await phone.enableCarbons()).toEqual({ ok: true, value: undefined });
    expect(await tablet.enableCarbons()).toEqual({ ok: true, value: undefined });
    const tabletInbox = new Recorder<IncomingMessage>(tablet, 'message');
    const phoneInbox = new Recorder<IncomingMessage>(phone, 'message');

    const fromPhone = phone.sendChat(alice!.jid, 'sent from the phone');
    expect(await tabletInbox.waitFor((m) => m.id === fromPhone, 'the carbon of the phone\'s message')).toMatchObject({ carbonSent: true, from: alice!.jid });
    const toBob = a.sendChat(bob!.jid, 'to bob');
    await tabletInbox.waitFor((m) => m.id === toBob, 'alice\'s message on the tablet');
    await phoneInbox.waitFor((m) => m.id === toBob, 'alice\'s message on the phone');
  });

  it('a MUC message reaches all 3 members, with the room\'s stanza id, is in the room\'s MAM, and a member\'s displayed marker reaches the others', async () => {
    const [alice, bob, carol] = await registerUsers(admin, ['alice-muc', 'bob-muc', 'carol-muc']);
    const room = uniqueUser('room');
    expect(await admin.provisionRoom(room, [alice!.name, bob!.name, carol!.name], { subscribe: true })).toEqual({ ok: true, value: undefined });
    const roomJid = admin.roomJid(room);
    const members = [alice!, bob!, carol!];
    const connections = [];
    for (const member of members) connections.push(await connect(member));
    const inboxes = connections.map((c) => new Recorder<IncomingMessage>(c, 'message'));
    for (const [i, c] of connections.entries()) {
      expect(await c.joinRoom(roomJid, members[i]!.name)).toEqual({ ok: true, value: undefined });
    }
    // A stranger is refused: the room is members-only.
    const [dave] = await registerUsers(admin, ['dave-muc']);
    const d = await connect(dave!);
    expect(await d.joinRoom(roomJid, dave!.name)).toMatchObject({ ok: false, error: { code: 'join_refused', condition: 'registration-required' } });

    const id = connections[0]!.sendGroupchat(roomJid, 'hello room');
    const received = await Promise.all(inboxes.map((inbox, i) => inbox.waitFor((m) => m.type === 'groupchat' && m.id === id, `the room message at ${members[i]!.name}`)));
    // All three (the sender's echo included) see one message with one room stanza id.
    expect(new Set(received.map((m) => m.stanzaId)).size).toBe(1);
    expect(received.every((m) => m.from === roomJid && m.nick === alice!.name && m.body === 'hello room')).toBe(true);

    const archive = await connections[2]!.mamFetchAll({ archive: roomJid });
    expect(archive.ok && archive.value.map((m) => [m.archiveId, m.originId, m.body])).toEqual([[received[0]!.stanzaId, id, 'hello room']]);

    // Group read ticks have no server aggregate: each member's displayed marker (naming the
    // room's stanza id) goes to the room, which reflects it to every occupant, the sender included.
    const aliceMarkers = new Recorder<Marker & { nick?: string }>(connections[0]!, 'marker');
    const carolMarkers = new Recorder<Marker & { nick?: string }>(connections[2]!, 'marker');
    connections[1]!.sendMarker(roomJid, received[1]!.stanzaId!, 'displayed', 'groupchat');
    for (const [who, markers] of [['alice', aliceMarkers], ['carol', carolMarkers]] as const) {
      expect(await markers.waitFor((m) => m.kind === 'displayed', `bob's displayed marker at ${who}`))
        .toMatchObject({ from: roomJid, type: 'groupchat', nick: bob!.name, id: received[0]!.stanzaId });
    }
  });
});
