// An XMPP phone's link is the phone's shaped link (issue 17: link faults reach XMPP phones): the
// xmpp driver speaks XMPP over WebSocket (RFC 7395) through a ShapedTransport over a real `ws`
// client, against a real ejabberd. Bob's network goes offline for a window (the `tunnel` event's
// ShapedTransport.goOffline): the oracle records link-down, Bob's phone loses its session, every
// dial fails until the window ends, then it reconnects (link-dial, link-up) and gets what Alice
// sent meanwhile: by XEP-0198 resumption when ejabberd still holds the stream, or, when the
// session is gone (kicked during the window), by a new session and a MAM sync. Real time (xmpp.js
// keeps its own timers); waits are bounded. Skipped without ejabberd or its /ws, as the other
// XMPP tests are (failed with CI=true).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { XmppDriver } from '../../simulator/drivers/xmpp/XmppDriver.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { ShapedTransport } from '../../simulator/network/ShapedTransport.ts';
import { Phone } from '../../simulator/phone/Phone.ts';
import { builtinProfile } from '../../simulator/scenario/builtinProfiles.ts';
import { EjabberdAdmin } from '../../simulator/targets/ejabberd/EjabberdAdmin.ts';
import { ensureEjabberd, registerUsers, stopIfStarted, webSocketReason, type EjabberdEndpoints } from '../support/ejabberdRig.ts';
import { RecordingMetrics } from '../phone/fixtures.ts';

const ready = await ensureEjabberd();
const endpoints = (ready.ok ? ready.endpoints : undefined) as EjabberdEndpoints;
const skipReason = ready.ok ? await webSocketReason(endpoints) : ready.reason;
if (skipReason && process.env.CI === 'true') {
  describe('ejabberd with XMPP over WebSocket', () => {
    it('is running or can be started, with /ws (required when CI=true)', () => { throw new Error(`CI=true but ${skipReason}`); });
  });
}
afterAll(() => stopIfStarted(endpoints));

const OFFLINE_MS = 4_000;
const NETWORK_BACK_NOTICE_MS = 300;

describe.skipIf(skipReason !== undefined)(`an XMPP phone on a shaped link loses it in an offline window${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const stops: Array<() => void> = [];
  afterEach(() => { for (const stop of stops.splice(0)) stop(); });

  async function rig() {
    const admin = new EjabberdAdmin({ baseUrl: endpoints.apiUrl, domain: endpoints.domain, mucDomain: endpoints.mucDomain });
    const [a, b] = await registerUsers(admin, ['alice', 'bob']);
    await admin.makeFriends(a!.name, b!.name);
    const time = createSystemTime();
    const t0 = time.nowMs();
    const events: HistoryEvent[] = [];
    const history = { record: (e: HistoryEvent) => events.push(e) };
    const bobDevice = `${b!.name}/d1`;
    const profile = { ...builtinProfile('loopback'), name: 'quiet-3g', latencyMs: { base: 40, jitter: 20 } };
    const made: { bob?: Phone } = {};
    const network = new ShapedTransport({
      inner: new WsClientTransport(), profile, time, random: new SeededRandom(17), device: bobDevice,
      onOracle: (device, what) => history.record({ t: time.nowMs() - t0, p: 'harness', type: 'oracle', what, device }),
      onDial: (device) => history.record({ t: time.nowMs() - t0, p: 'harness', type: 'oracle', what: 'link-dial', device }),
      onNetworkBack: () => made.bob?.networkRestored(NETWORK_BACK_NOTICE_MS),
    });
    const aliceLink = new WsClientTransport();
    const driverOf = (user: string, transport: ShapedTransport | WsClientTransport) => new XmppDriver({ user, device: 'd1', domain: endpoints.domain, saslMechanism: 'PLAIN', time, transport });
    const aliceDriver = driverOf(a!.name, aliceLink);
    const chat = aliceDriver.directChat(b!.name);
    const bobMetrics = new RecordingMetrics();
    const phoneOf = (user: { name: string; password: string }, driver: XmppDriver, metrics: RecordingMetrics, seed: number) => new Phone({
      user: user.name, device: 'd1', token: user.password, gatewayUrls: [endpoints.wsService], chats: [{ id: chat, kind: 'direct', members: [a!.name, b!.name] }],
      friends: [user === a ? b!.name : a!.name], driver, time, random: new SeededRandom(seed), history, metrics, startMs: t0,
    });
    const alice = phoneOf(a!, aliceDriver, new RecordingMetrics(), 1);
    const bob = phoneOf(b!, driverOf(b!.name, network), bobMetrics, 2);
    made.bob = bob;
    stops.push(() => { alice.stop(); bob.stop(); network.dispose(); });
    const until = async (probe: () => boolean, what: string, limitMs = 20_000): Promise<void> => {
      for (let waited = 0; waited < limitMs && !probe(); waited += 25) await new Promise((r) => setTimeout(r, 25));
      if (!probe()) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.slice(-10))}`);
    };
    const of = (type: string, p: string) => events.filter((e) => e.type === type && e.p === p) as Array<HistoryEvent & Record<string, unknown>>;
    const oracle = () => events.filter((e) => e.type === 'oracle' && 'device' in e && e.device === bobDevice).map((e) => e as HistoryEvent & { what: string; t: number });
    return { admin, a: a!, b: b!, alice, bob, bobMetrics, network, chat, events, until, of, oracle, now: () => time.nowMs() - t0 };
  }

  /** Both phones ready, one message delivered; then Bob's network goes offline and Alice sends two. */
  async function offlineWindow(r: Awaited<ReturnType<typeof rig>>, duringWindow: () => Promise<void> = async () => {}) {
    const { alice, bob, chat, until, of, a, b } = r;
    alice.start();
    bob.start();
    await until(() => alice.state().phase === 'ready' && bob.state().phase === 'ready', 'both ready');
    const first = alice.send(chat, 'before the tunnel');
    await until(() => of('render', `${b.name}/d1`).some((e) => e.clientMsgId === first), 'the first message at Bob');
    const offlineAt = r.now();
    r.network.goOffline(OFFLINE_MS);
    const missed = [alice.send(chat, 'in the tunnel 1'), alice.send(chat, 'in the tunnel 2')];
    await until(() => missed.every((m) => of('tick', `${a.name}/d1`).some((e) => e.clientMsgId === m && e.tick === 'sent')), 'both stored by ejabberd');
    await duringWindow();
    await until(() => missed.every((m) => of('render', `${b.name}/d1`).some((e) => e.clientMsgId === m)), 'the missed messages at Bob', OFFLINE_MS + 20_000);
    return { offlineAt, missed };
  }

  async function expectLinkLostAndBack(r: Awaited<ReturnType<typeof rig>>, offlineAt: number, missed: string[]) {
    const oracle = r.oracle();
    const down = oracle.find((e) => e.what === 'link-down' && e.t >= offlineAt);
    expect(down, 'the oracle records the link going down in the window').toBeDefined();
    // Every dial in the window fails without reaching the server: the next dial that does, and its link-up, come after the window.
    const dialBack = oracle.find((e) => e.what === 'link-dial' && e.t > down!.t);
    const upBack = oracle.find((e) => e.what === 'link-up' && e.t > down!.t);
    expect(dialBack!.t).toBeGreaterThanOrEqual(offlineAt + OFFLINE_MS);
    expect(upBack!.t).toBeGreaterThanOrEqual(dialBack!.t);
    expect(oracle.filter((e) => e.what !== 'link-dial').map((e) => e.what).slice(0, 3)).toEqual(['link-up', 'link-down', 'link-up']);
    const bobP = `${r.b.name}/d1`;
    expect(r.of('disconnect', bobP).some((e) => e.t >= offlineAt), 'Bob\'s phone loses its session').toBe(true);
    const renders = r.of('render', bobP).filter((e) => missed.includes(e.clientMsgId as string));
    // Each missed message once, in order, after the link is back.
    expect(renders.map((e) => e.clientMsgId)).toEqual(missed);
    expect(renders.map((e) => e.seq)).toEqual([2, 3]);
    for (const render of renders) expect(render.t).toBeGreaterThanOrEqual(upBack!.t);
    // The phone syncs after the reconnect, as after every session start (MAM: it has nothing left to add).
    await r.until(() => r.of('ok', bobP).some((e) => e.op === 'sync' && e.t >= upBack!.t), 'a sync after the reconnect');
    expect(r.of('render', bobP).filter((e) => missed.includes(e.clientMsgId as string))).toHaveLength(2);
  }

  it('the stream is resumed (XEP-0198): what Alice sent in the window arrives once, in order', async () => {
    const r = await rig();
    const { offlineAt, missed } = await offlineWindow(r);
    await expectLinkLostAndBack(r, offlineAt, missed);
    expect(r.bobMetrics.count('xmpp.resumed')).toBeGreaterThanOrEqual(1);
    expect(r.bobMetrics.count('xmpp.sessions')).toBe(1);
  }, 60_000);

  it('a session ejabberd dropped in the window (kicked) cannot be resumed: a new session, and what was missed comes again, once', async () => {
    const r = await rig();
    const { offlineAt, missed } = await offlineWindow(r, async () => {
      const kicked = await r.admin.kickSession(r.b.name, 'd1');
      expect(kicked.ok).toBe(true);
    });
    await expectLinkLostAndBack(r, offlineAt, missed);
    expect(r.bobMetrics.count('xmpp.resumed')).toBe(0);
    expect(r.bobMetrics.count('xmpp.sessions')).toBe(2);
  }, 60_000);
});
