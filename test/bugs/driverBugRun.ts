// One short conversation between two phones over any driver, with the checkers run on the
// recorded history: alice sends a burst of three messages to bob, who has the chat open and
// reads them as they come. The correct phone and driver pass B3, B5 and B6; each client-side
// bug of the catalogue (phone or driver) fails the property it breaks. Shared by the
// chatsim.v1 test (in-process reference cluster) and the XMPP one (a real ejabberd).
import { checkHistory } from '../../simulator/check/checkAll.ts';
import type { PropertyResult } from '../../simulator/check/PropertyResult.ts';
import type { DriverCapabilities } from '../../simulator/drivers/DriverCapabilities.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import type { Phone } from '../../simulator/phone/Phone.ts';
import type { DriverSession, PhoneDriver } from '../../simulator/drivers/PhoneDriver.ts';

export interface ConversationRig {
  chat: string;
  alice: string;
  bob: string;
  /** Both phones, built on `record`, with the run's bugs applied around `underBugs(driver)` (the driver itself when absent). */
  phones(record: (e: HistoryEvent) => void, underBugs?: (driver: PhoneDriver) => PhoneDriver): { alice: Phone; bob: Phone };
  /** Lets about `ms` of the phones' time pass (fake clock and socket settling, or real time). */
  pass(ms: number): Promise<void>;
  /** The phones' clock, as their history stamps it (ms since their startMs). */
  elapsedMs(): number;
  capabilities: DriverCapabilities;
}

/** How long a receipt may take to reach its sender (the checkers' default is 5 s, for loaded clusters). */
const PROPAGATION_MS = 1_000;

/** The verdicts of the conversation's history, by property id. */
export async function converse(rig: ConversationRig): Promise<Map<string, PropertyResult>> {
  const events: HistoryEvent[] = [];
  const { alice, bob } = rig.phones((e) => events.push(e));
  try {
    alice.start();
    bob.start();
    await until(rig, () => alice.state().phase === 'ready' && bob.state().phase === 'ready', 'both ready', events);
    bob.setForeground(true);
    bob.openChat(rig.chat);
    // Spread over one read-debounce window, so bob's reads come as a burst with a trailing receipt.
    const ids: string[] = [];
    for (const body of ['one', 'two', 'three']) {
      ids.push(alice.send(rig.chat, body));
      await rig.pass(150);
    }
    const ticked = (tick: string) => ids.every((id) => events.some((e) => e.type === 'tick' && e.clientMsgId === id && e.tick === tick));
    await until(rig, () => ticked('sent'), 'all three stored', events);
    // Every variant reaches delivered (the bugged driver acknowledges too); then the read
    // debounce (500 ms) and the receipts' trip back get ample time: more than the propagation
    // bound the checkers are given, so B5 judges every receipt and B6 every owed read.
    await until(rig, () => ticked('delivered'), 'all three delivered', events);
    await rig.pass(2 * PROPAGATION_MS);
    return judged(rig, events);
  } finally {
    alice.stop();
    bob.stop();
  }
}

/**
 * Alice's first send is lost with her link (the frame never leaves, the link dies: a test
 * driver below the bugs does it); she reconnects and the app repeats the send. The verdicts
 * once the repeat had ample time to be stored and pushed.
 */
export async function sendAcrossDrop(rig: ConversationRig): Promise<Map<string, PropertyResult>> {
  const events: HistoryEvent[] = [];
  const { alice, bob } = rig.phones((e) => events.push(e), (driver) => new LoseFirstSendDriver(driver));
  try {
    alice.start();
    bob.start();
    await until(rig, () => alice.state().phase === 'ready' && bob.state().phase === 'ready', 'both ready', events);
    alice.send(rig.chat, 'in flight when the link dies');
    const connects = () => events.filter((e) => e.type === 'connect' && e.p === `${rig.alice}/d1`).length;
    await until(rig, () => connects() === 2 && alice.state().phase === 'ready', 'alice back after the drop', events);
    await rig.pass(2 * PROPAGATION_MS);
    return judged(rig, events);
  } finally {
    alice.stop();
    bob.stop();
  }
}

/** The first send intent of the driver's life never leaves: the session dies with it unsent. */
class LoseFirstSendDriver implements PhoneDriver {
  readonly protocol: string;
  readonly capabilities: PhoneDriver['capabilities'];
  private lost = false;

  constructor(private readonly inner: PhoneDriver) {
    this.protocol = inner.protocol;
    this.capabilities = inner.capabilities;
  }

  open(...args: Parameters<PhoneDriver['open']>): DriverSession {
    const session = this.inner.open(...args);
    return {
      send: (intent) => {
        if (intent.kind !== 'send' || this.lost) return session.send(intent);
        this.lost = true;
        session.abort();
      },
      close: (code, reason) => session.close(code, reason),
      abort: () => session.abort(),
    };
  }
}

/** The checkers' verdicts on `events`, the run ending now (heal and done stamped after the last event). */
function judged(rig: ConversationRig, events: HistoryEvent[]): Map<string, PropertyResult> {
  const endMs = Math.max(rig.elapsedMs(), ...events.map((e) => e.t)) + 1;
  const harness: HistoryEvent[] = [
    { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
    { t: endMs, p: 'harness', type: 'oracle', what: 'phase', phase: 'heal' },
    { t: endMs + 1, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
  ];
  const facts = {
    chatMembers: new Map([[rig.chat, [rig.alice, rig.bob]]]),
    devicesOfUser: new Map([[rig.alice, ['d1']], [rig.bob, ['d1']]]),
    driverCapabilities: rig.capabilities,
    propagationMs: PROPAGATION_MS,
  };
  const results = checkHistory([harness[0]!, ...events, ...harness.slice(1)], facts, { seed: 1, reproduce: 'test' });
  return new Map(results.map((r) => [r.id, r]));
}

async function until(rig: ConversationRig, probe: () => boolean, what: string, events: HistoryEvent[]): Promise<void> {
  for (let i = 0; i < 300 && !probe(); i++) await rig.pass(50);
  if (!probe()) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.slice(-8))}`);
}
