// The phone drivers' contract (simulator/drivers/PhoneDriver.ts), in the style of the port
// contract suites (test/contracts): one suite every driver passes, at the driver's seam (intents
// in, events out), two users of one 1:1 chat against a real server, and with a third user a
// group chat of the three. A case whose capability the driver does not declare (for group
// cases: in groups, DriverCapabilities.groups) is skipped, and its name says why.
import { afterEach, describe, expect, it } from 'vitest';
import { groupCapabilities, type DriverCapabilities, type DriverCapability } from '../../simulator/drivers/DriverCapabilities.ts';
import type { DriverSession, PhoneDriver, PhoneEvent, PhoneIntent, SessionClose } from '../../simulator/drivers/PhoneDriver.ts';
import { RecordingMetrics } from '../phone/fixtures.ts';

/** One device of the rig: its driver (kept across sessions, as a phone keeps it) and how to reach the server. */
export interface RigDevice {
  user: string;
  /** The device's name as its messages carry it (`fromDevice`). */
  device: string;
  driver: PhoneDriver;
  endpoint: string;
  token: string;
}

export interface DriverRig {
  /** A 1:1 chat between `alice` and `bob`; they are friends (presence) where the driver has presence. */
  chat: string;
  alice: RigDevice;
  /** A second device of alice (multi-device: what one device sends and gets, the other sees). */
  aliceOther: RigDevice;
  bob: RigDevice;
  /** A group chat of alice, bob and carol; required unless the driver declares `groups: false`. */
  group?: { chat: string; carol: RigDevice };
  /** Lets time pass: advances a fake clock, or waits a little on a real one. */
  tick(): Promise<void>;
  /** How many ticks a wait lasts before it fails. */
  patienceTicks: number;
  stop(): Promise<void>;
}

/** A driver session with everything it reported. */
export class Probe {
  readonly events: PhoneEvent[] = [];
  readonly metrics = new RecordingMetrics();
  opened = false;
  closed: SessionClose | undefined;
  readonly session: DriverSession;

  constructor(readonly device: RigDevice, private readonly rig: DriverRig) {
    this.session = device.driver.open(device.endpoint, device.token, this.metrics, {
      onOpen: () => { this.opened = true; },
      onInbound: () => this.closed === undefined,
      onEvent: (event) => this.events.push(event),
      onClose: (close) => { this.closed = close; },
    });
  }

  send(intent: PhoneIntent): void {
    this.session.send(intent);
  }

  of<K extends PhoneEvent['kind']>(kind: K): Array<Extract<PhoneEvent, { kind: K }>> {
    return this.events.filter((e) => e.kind === kind) as Array<Extract<PhoneEvent, { kind: K }>>;
  }

  /** The first event of `kind` matching `match` (one already reported counts), or a failure naming what was seen. */
  async waitFor<K extends PhoneEvent['kind']>(kind: K, match?: (e: Extract<PhoneEvent, { kind: K }>) => boolean, what: string = kind): Promise<Extract<PhoneEvent, { kind: K }>> {
    for (let i = 0; i < this.rig.patienceTicks; i++) {
      const found = this.of(kind).find((e) => match?.(e) ?? true);
      if (found) return found;
      await this.rig.tick();
    }
    throw new Error(`${this.device.user}: no ${what} event; saw ${JSON.stringify(this.events.slice(-6))}`);
  }

  async untilClosed(): Promise<SessionClose> {
    for (let i = 0; i < this.rig.patienceTicks && !this.closed; i++) await this.rig.tick();
    if (!this.closed) throw new Error(`${this.device.user}: the session did not close`);
    return this.closed;
  }
}

/** Named for the report: what a skipped case lacked. */
function needing(name: string, capabilities: DriverCapabilities, needs: DriverCapability[]): { name: string; skip: boolean } {
  const missing = needs.filter((need) => !capabilities[need]);
  return missing.length === 0 ? { name, skip: false } : { name: `${name} (skipped: the driver does not declare ${missing.join(', ')})`, skip: true };
}

/**
 * The contract. `capabilities` are the driver's declared ones (known before the rig exists, so
 * cases can be skipped); `skipReason`: the whole suite is skipped (no server to test against);
 * `variant` names one of several ways a driver is run (e.g. its transport) in the suite's title.
 */
export function driverContract(protocol: string, capabilities: DriverCapabilities, makeRig: () => Promise<DriverRig>, skipReason?: string, variant?: string): void {
  describe.skipIf(skipReason !== undefined)(`phone driver contract: ${protocol}${variant ? ` ${variant}` : ''}${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
    let rig: DriverRig | undefined;
    const probes: Probe[] = [];
    const open = async (device: 'alice' | 'aliceOther' | 'bob' | 'carol'): Promise<Probe> => {
      rig ??= await makeRig();
      const probe = new Probe(device === 'carol' ? rig.group!.carol : rig[device], rig);
      probes.push(probe);
      await probe.waitFor('session');
      return probe;
    };
    const sendStored = async (probe: Probe, chat: string, body: string, clientMsgId = `${probe.device.user}-${body}-${Math.random().toString(36).slice(2, 8)}`) => {
      probe.send({ kind: 'send', chat, clientMsgId, body });
      return probe.waitFor('stored', (e) => e.clientMsgId === clientMsgId, `stored ${clientMsgId}`);
    };

    afterEach(async () => {
      for (const probe of probes.splice(0)) probe.session.close(1000, 'test over');
      await rig?.stop();
      rig = undefined;
    });

    it('opens a session: the transport opens, then the session event', async () => {
      const alice = await open('alice');
      expect(alice.opened).toBe(true);
      expect(rig!.alice.driver.protocol).toBe(protocol);
      expect(alice.of('session')).toHaveLength(1);
    });

    it('a send with a client id is stored: the stored event names it, its chat and a position', async () => {
      const alice = await open('alice');
      const stored = await sendStored(alice, rig!.chat, 'first');
      expect(stored.chat).toBe(rig!.chat);
      expect(stored.seq).toBeGreaterThan(0);
      const second = await sendStored(alice, rig!.chat, 'second');
      expect(second.seq).toBeGreaterThan(stored.seq);
    });

    it('the peer hears the message, from its sender, with its client id and body', async () => {
      const bob = await open('bob');
      const alice = await open('alice');
      const stored = await sendStored(alice, rig!.chat, 'hello');
      const heard = await bob.waitFor('message', (e) => e.message.clientMsgId === stored.clientMsgId, 'message');
      expect(heard.message).toMatchObject({ chat: rig!.chat, from: rig!.alice.user, body: 'hello' });
      expect(heard.message.seq).toBeGreaterThan(0);
    });

    const receipts = needing('a delivery ack produces a delivered receipt for the sender, cumulative to the message', capabilities, ['receipts']);
    it.skipIf(receipts.skip)(receipts.name, async () => {
      const bob = await open('bob');
      const alice = await open('alice');
      const stored = await sendStored(alice, rig!.chat, 'tick me');
      const heard = await bob.waitFor('message', (e) => e.message.clientMsgId === stored.clientMsgId);
      bob.send({ kind: 'ack', chat: rig!.chat, upTo: heard.message.seq });
      const receipt = await alice.waitFor('receipt', (e) => e.receipt.kind === 'delivered' && e.receipt.upTo >= stored.seq, 'delivered receipt');
      expect(receipt.receipt).toMatchObject({ chat: rig!.chat, user: rig!.bob.user });
    });

    const reads = needing('a read produces a read receipt for the sender', capabilities, ['readMarkers']);
    it.skipIf(reads.skip)(reads.name, async () => {
      const bob = await open('bob');
      const alice = await open('alice');
      const stored = await sendStored(alice, rig!.chat, 'read me');
      const heard = await bob.waitFor('message', (e) => e.message.clientMsgId === stored.clientMsgId);
      bob.send({ kind: 'read', chat: rig!.chat, upTo: heard.message.seq });
      const receipt = await alice.waitFor('receipt', (e) => e.receipt.kind === 'read' && e.receipt.upTo >= stored.seq, 'read receipt');
      expect(receipt.receipt).toMatchObject({ chat: rig!.chat, user: rig!.bob.user });
    });

    const sync = needing('sync from a position returns what was missed, in order, above the position', capabilities, ['syncFromPosition']);
    it.skipIf(sync.skip)(sync.name, async () => {
      let bob = await open('bob');
      const alice = await open('alice');
      const first = await sendStored(alice, rig!.chat, 'before');
      const heard = await bob.waitFor('message', (e) => e.message.clientMsgId === first.clientMsgId);
      bob.session.close(1000, 'away');
      await bob.untilClosed();
      const missed = [await sendStored(alice, rig!.chat, 'missed-1'), await sendStored(alice, rig!.chat, 'missed-2')];
      bob = await open('bob');
      bob.send({ kind: 'sync', mode: 'positions', id: 'sync-1', positions: { [rig!.chat]: heard.message.seq } });
      const page = await bob.waitFor('sync-page', (e) => e.ref === 'sync-1');
      const chat = page.chats.find((c) => c.chat === rig!.chat)!;
      const ids = missed.map((m) => m.clientMsgId);
      expect(chat.messages.map((m) => m.clientMsgId).filter((id) => ids.includes(id))).toEqual(ids);
      expect(chat.messages.every((m) => m.seq > heard.message.seq)).toBe(true);
      expect(chat.head).toBeGreaterThanOrEqual(Math.max(...chat.messages.map((m) => m.seq)));
    });

    const presence = needing('presence: a friend who comes online is pushed or answers a query as online', capabilities, ['presence']);
    it.skipIf(presence.skip)(presence.name, async () => {
      const alice = await open('alice');
      await open('bob');
      const bobUser = rig!.bob.user;
      for (let i = 0; i < rig!.patienceTicks; i++) {
        alice.send({ kind: 'presence-query', id: `pq-${i}`, users: [bobUser] });
        await rig!.tick();
        const online = alice.of('presence').some((e) => e.user === bobUser && e.online)
          || alice.of('presence-result').some((e) => e.users.some((u) => u.user === bobUser && u.online));
        if (online) return;
      }
      throw new Error(`alice never saw ${bobUser} online: ${JSON.stringify(alice.events.slice(-6))}`);
    });

    const typing = needing('typing reaches the peer', capabilities, ['typing']);
    it.skipIf(typing.skip)(typing.name, async () => {
      const bob = await open('bob');
      const alice = await open('alice');
      alice.send({ kind: 'typing', chat: rig!.chat });
      const seen = await bob.waitFor('typing');
      expect(seen).toMatchObject({ chat: rig!.chat, user: rig!.alice.user });
    });

    it('multi-device: a message one device of a user sends reaches the user\'s other device, from that user and device', async () => {
      const tablet = await open('aliceOther');
      const bob = await open('bob');
      const alice = await open('alice');
      const stored = await sendStored(alice, rig!.chat, 'from my phone');
      const copy = await tablet.waitFor('message', (e) => e.message.clientMsgId === stored.clientMsgId, 'the own message on the other device');
      expect(copy.message).toMatchObject({ chat: rig!.chat, from: rig!.alice.user, fromDevice: rig!.alice.device, body: 'from my phone' });
      await bob.waitFor('message', (e) => e.message.clientMsgId === stored.clientMsgId, 'the message at the peer');
      // Seen once: no second copy on the other device, and none comes back to the sender.
      expect(tablet.of('message').filter((e) => e.message.clientMsgId === stored.clientMsgId)).toHaveLength(1);
      expect(alice.of('message').filter((e) => e.message.clientMsgId === stored.clientMsgId && e.message.fromDevice === rig!.alice.device)).toHaveLength(0);
    });

    it('multi-device: a message to a user reaches every online device of that user', async () => {
      const tablet = await open('aliceOther');
      const alice = await open('alice');
      const bob = await open('bob');
      const stored = await sendStored(bob, rig!.chat, 'to both of yours');
      for (const device of [alice, tablet]) {
        const heard = await device.waitFor('message', (e) => e.message.clientMsgId === stored.clientMsgId, `the message on ${device.device.device}`);
        expect(heard.message).toMatchObject({ chat: rig!.chat, from: rig!.bob.user, body: 'to both of yours' });
      }
    });

    it('app-state (background and back) is taken without a refusal, and messages still arrive', async () => {
      const alice = await open('alice');
      const bob = await open('bob');
      alice.send({ kind: 'app-state', foreground: false });
      const inBackground = await sendStored(bob, rig!.chat, 'while in the background');
      await alice.waitFor('message', (e) => e.message.clientMsgId === inBackground.clientMsgId, 'a message while in the background');
      alice.send({ kind: 'app-state', foreground: true });
      const back = await sendStored(bob, rig!.chat, 'back in front');
      await alice.waitFor('message', (e) => e.message.clientMsgId === back.clientMsgId, 'a message after coming back');
      expect(alice.of('refused')).toEqual([]);
      expect(alice.closed).toBeUndefined();
    });

    groupCases(capabilities, {
      open: async (device) => {
        const probe = await open(device);
        const group = rig!.group;
        if (!group) throw new Error('the rig has no group chat, but the driver does not declare groups: false');
        // As a phone does at every session start: sync every chat it lists (a driver may join rooms here).
        const positions = device === 'carol' ? { [group.chat]: 0 } : { [rig!.chat]: 0, [group.chat]: 0 };
        probe.send({ kind: 'sync', mode: 'positions', id: `${device}-start`, positions });
        await probe.waitFor('sync-page', (e) => e.ref === `${device}-start`, 'start sync');
        return probe;
      },
      group: () => rig!.group!.chat,
      user: (device) => (device === 'carol' ? rig!.group!.carol.user : rig![device].user),
      sendStored,
    });

    it('reconnects after an aborted link: a new session sends and the peer hears it; a stored message keeps its position', async () => {
      const bob = await open('bob');
      let alice = await open('alice');
      const before = await sendStored(alice, rig!.chat, 'before abort');
      alice.session.abort();
      const close = await alice.untilClosed();
      expect(close.retryable).toBe(true);
      alice = await open('alice');
      const after = await sendStored(alice, rig!.chat, 'after abort');
      await bob.waitFor('message', (e) => e.message.clientMsgId === after.clientMsgId);
      expect(after.seq).toBeGreaterThan(before.seq);
      // The app repeats a send whose ack it may have missed: the same position comes back.
      const again = await sendStored(alice, rig!.chat, 'before abort', before.clientMsgId);
      expect(again.seq).toBe(before.seq);
    });
  });
}

interface GroupRig {
  /** A session of `device` that has synced its chats (as a phone does after its hello). */
  open(device: 'alice' | 'bob' | 'carol'): Promise<Probe>;
  group(): string;
  user(device: 'alice' | 'bob' | 'carol'): string;
  sendStored(probe: Probe, chat: string, body: string, clientMsgId?: string): Promise<Extract<PhoneEvent, { kind: 'stored' }>>;
}

/** The group cases: skipped for a driver that declares `groups: false`, each by what the driver lacks in groups. */
function groupCases(capabilities: DriverCapabilities, g: GroupRig): void {
  const inGroups = groupCapabilities(capabilities)!;
  const inGroup = (name: string, needs: DriverCapability[]) => (capabilities.groups === false
    ? { name: `group: ${name} (skipped: the driver declares no groups)`, skip: true }
    : needing(`group: ${name}`, inGroups, needs));

  const send = inGroup('a send is stored once, every other member hears it from its sender; a repeat answers the same position', []);
  it.skipIf(send.skip)(send.name, async () => {
    const bob = await g.open('bob');
    const carol = await g.open('carol');
    const alice = await g.open('alice');
    const stored = await g.sendStored(alice, g.group(), 'hello group');
    expect(stored).toMatchObject({ chat: g.group() });
    expect(stored.seq).toBeGreaterThan(0);
    for (const member of [bob, carol]) {
      const heard = await member.waitFor('message', (e) => e.message.clientMsgId === stored.clientMsgId, 'group message');
      expect(heard.message).toMatchObject({ chat: g.group(), from: g.user('alice'), body: 'hello group' });
    }
    const again = await g.sendStored(alice, g.group(), 'hello group', stored.clientMsgId);
    expect(again.seq).toBe(stored.seq);
    const second = await g.sendStored(bob, g.group(), 'from bob');
    const atAlice = await alice.waitFor('message', (e) => e.message.clientMsgId === second.clientMsgId, 'bob\'s group message');
    expect(atAlice.message.from).toBe(g.user('bob'));
    expect(atAlice.message.seq).toBeGreaterThan(stored.seq);
  });

  const sync = inGroup('sync from a position returns what was missed, in order, above the position', ['syncFromPosition']);
  it.skipIf(sync.skip)(sync.name, async () => {
    let bob = await g.open('bob');
    const alice = await g.open('alice');
    const first = await g.sendStored(alice, g.group(), 'group before');
    const heard = await bob.waitFor('message', (e) => e.message.clientMsgId === first.clientMsgId);
    bob.session.close(1000, 'away');
    await bob.untilClosed();
    const missed = [await g.sendStored(alice, g.group(), 'group missed-1'), await g.sendStored(alice, g.group(), 'group missed-2')];
    bob = await g.open('bob');
    bob.send({ kind: 'sync', mode: 'positions', id: 'gsync-1', positions: { [g.group()]: heard.message.seq } });
    const page = await bob.waitFor('sync-page', (e) => e.ref === 'gsync-1');
    const chat = page.chats.find((c) => c.chat === g.group())!;
    const ids = missed.map((m) => m.clientMsgId);
    expect(chat.messages.map((m) => m.clientMsgId).filter((id) => ids.includes(id))).toEqual(ids);
    expect(chat.messages.every((m) => m.seq > heard.message.seq)).toBe(true);
    expect(chat.head).toBeGreaterThanOrEqual(Math.max(...chat.messages.map((m) => m.seq)));
  });

  const typing = inGroup('typing reaches the other members', ['typing']);
  it.skipIf(typing.skip)(typing.name, async () => {
    const bob = await g.open('bob');
    const carol = await g.open('carol');
    const alice = await g.open('alice');
    alice.send({ kind: 'typing', chat: g.group() });
    for (const member of [bob, carol]) await member.waitFor('typing', (e) => e.chat === g.group() && e.user === g.user('alice'), 'group typing');
    expect(alice.of('typing').filter((e) => e.user === g.user('alice'))).toEqual([]);
  });

  const ticks = inGroup('delivered and read by every other member: the sender gets the group\'s ticks', ['receipts', 'readMarkers']);
  it.skipIf(ticks.skip)(ticks.name, async () => {
    const bob = await g.open('bob');
    const carol = await g.open('carol');
    const alice = await g.open('alice');
    const stored = await g.sendStored(alice, g.group(), 'tick the group');
    for (const member of [bob, carol]) {
      const heard = await member.waitFor('message', (e) => e.message.clientMsgId === stored.clientMsgId);
      member.send({ kind: 'ack', chat: g.group(), upTo: heard.message.seq });
      member.send({ kind: 'read', chat: g.group(), upTo: heard.message.seq });
    }
    for (const kind of ['delivered', 'read'] as const) {
      await alice.waitFor('receipt', (e) => e.receipt.chat === g.group() && e.receipt.kind === kind && e.receipt.upTo >= stored.seq, `group ${kind} receipt`);
    }
  });
}
