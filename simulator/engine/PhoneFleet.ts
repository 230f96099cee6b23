import { isBugName, type BugSet } from '../../server/bugs/BugCatalogue.ts';
import type { TimeSource, TimerHandle } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import { withDriverBugs } from '../bugs/driverBugs.ts';
import { phoneOptionsForBugs } from '../bugs/phoneBugOptions.ts';
import type { HistoryEvent, HistoryRecorder } from '../history/HistoryEvent.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import { ShapedTransport } from '../network/ShapedTransport.ts';
import { Phone } from '../phone/Phone.ts';
import { PhoneBehaviour } from '../phone/PhoneBehaviour.ts';
import type { LoadSpec } from '../scenario/Scenario.ts';
import type { ClientTransport } from '../transport/ClientTransport.ts';
import type { FleetAction, WorkerPhoneSpec } from './workerProtocol.ts';
import { ScheduledClock } from './clocks.ts';
import { ChatsimV1Driver } from '../drivers/chatsimV1/ChatsimV1Driver.ts';
import type { PhoneDriver } from '../drivers/PhoneDriver.ts';

export interface PhoneFleetConfig {
  phones: WorkerPhoneSpec[];
  gatewayUrls: string[];
  load: LoadSpec;
  bugs: string[];
  time: TimeSource;
  /** The phone's own random stream (its network, app and user draw from forks of it). */
  randomFor(spec: WorkerPhoneSpec): Random;
  /** The raw link to the gateways (real WebSockets or the simulated network); profiles wrap it. */
  transport: ClientTransport;
  history: HistoryRecorder;
  metrics: Metrics;
  runStartEpochMs: number;
  /** Each phone's driver over its shaped link (scenario target.driver); default chatsim.v1. */
  driverFor?: (spec: WorkerPhoneSpec, link: ClientTransport) => PhoneDriver;
}

/** How long after an offline window ends the OS tells the app the network is back. */
export const NETWORK_BACK_NOTICE_MS = 500;
/** At the heal, how long after the network heals the phones are told so (after the closes it causes). */
const NETWORK_RESTORED_AFTER_CLOSES_MS = 1;

/**
 * A set of virtual phones, each with its link profile and its user's behaviour, assembled
 * the same way for a live worker thread and for the simulation engine.
 */
export class PhoneFleet {
  private readonly phones: Phone[] = [];
  private readonly behaviours: PhoneBehaviour[] = [];
  private readonly networks: ShapedTransport[] = [];
  private readonly timers: TimerHandle[] = [];

  private readonly specs: WorkerPhoneSpec[] = [];
  private readonly options: ReturnType<typeof phoneOptionsForBugs>;
  private readonly bugs: BugSet;
  private healed = false;

  constructor(private readonly config: PhoneFleetConfig) {
    this.bugs = new Set(config.bugs.filter(isBugName));
    this.options = phoneOptionsForBugs(this.bugs);
    for (const spec of config.phones) this.make(spec);
  }

  private make(spec: WorkerPhoneSpec): number {
    const { time, history, runStartEpochMs } = this.config;
    const phoneRandom = this.config.randomFor(spec);
    const made: { phone?: Phone } = {};
    const network = new ShapedTransport({
      inner: this.config.transport, profile: spec.profile, time, random: phoneRandom.fork('network'), device: `${spec.user}/${spec.device}`,
      onOracle: (device, what) => history.record({ t: time.nowMs() - runStartEpochMs, p: 'harness', type: 'oracle', what, device } satisfies HistoryEvent),
      onDial: (device) => history.record({ t: time.nowMs() - runStartEpochMs, p: 'harness', type: 'oracle', what: 'link-dial', device } satisfies HistoryEvent),
      onStall: (device, what) => history.record({ t: time.nowMs() - runStartEpochMs, p: 'harness', type: 'oracle', what, device } satisfies HistoryEvent),
      // The OS says the network is back: a phone whose attempts all failed offline (its backoff
      // grown to many seconds) retries now, as apps do on Android's and iOS's connectivity callback.
      onNetworkBack: () => made.phone?.networkRestored(NETWORK_BACK_NOTICE_MS),
    });
    const phone = new Phone({
      user: spec.user, device: spec.device, token: spec.token, gatewayUrls: this.config.gatewayUrls, chats: spec.chats, friends: spec.friends,
      // Driver bugs of the run wrap whichever driver the phone speaks (simulator/bugs/driverBugs.ts).
      driver: withDriverBugs(this.config.driverFor?.(spec, network) ?? new ChatsimV1Driver(network), this.bugs), time, random: phoneRandom.fork('phone'), history, metrics: this.config.metrics, startMs: runStartEpochMs, options: this.options,
      ...(spec.syncMode ? { syncMode: spec.syncMode } : {}), ...(spec.clock ? { wallClock: new ScheduledClock(time, runStartEpochMs, spec.clock) } : {}),
    });
    made.phone = phone;
    const behaviour = new PhoneBehaviour(phone, {
      messagesPerMinute: this.config.load.messagesPerMinute, foregroundShare: this.config.load.foregroundShare,
      typingShare: this.config.load.typingShare, bodyBytes: this.config.load.bodyBytes,
    }, time, phoneRandom.fork('behaviour'));
    this.phones.push(phone);
    this.behaviours.push(behaviour);
    this.networks.push(network);
    this.specs.push(spec);
    return this.phones.length - 1;
  }

  // ------------------------------------------------------------ scenario events (EventPlayer)

  private indexOf(device: string): number {
    return this.specs.findIndex((s) => `${s.user}/${s.device}` === device);
  }

  /** add-device: a phone that logs in mid-run starts now, with an empty local store. */
  addPhone(spec: WorkerPhoneSpec): void {
    if (this.healed) return;
    const i = this.make(spec);
    this.phones[i]!.start();
    this.behaviours[i]!.start();
  }

  /** logout-device: the device closes its connection for good. */
  logout(device: string): void {
    const i = this.indexOf(device);
    if (i < 0) return;
    this.behaviours[i]!.stop();
    this.phones[i]!.logout();
  }

  /**
   * reinstall-device: the old device is gone; the fresh install logs in as `spec` (a new
   * device id) with an empty local store. Bug 'fresh-install-stale-watermark': the fresh
   * install starts with the old device's watermarks (a backup restored) but none of its messages.
   */
  reinstall(device: string, spec: WorkerPhoneSpec): void {
    const i = this.indexOf(device);
    const marks = i >= 0 ? this.phones[i]!.store.watermarks() : {};
    this.logout(device);
    if (this.healed) return;
    const j = this.make(spec);
    if (this.options.freshInstallStaleWatermark) this.phones[j]!.store.restoreWatermarks(marks);
    this.phones[j]!.start();
    this.behaviours[j]!.start();
  }

  /** tunnel: every phone of the profile loses its network at once for forMs. */
  tunnel(profile: string, forMs: number): void {
    this.specs.forEach((spec, i) => { if (spec.profile.name === profile) this.networks[i]!.goOffline(forMs); });
  }

  /** burst: each named device sends its count within withinMs. */
  burst(sends: ReadonlyArray<{ device: string; messages: number }>, withinMs: number): void {
    for (const { device, messages } of sends) {
      const i = this.indexOf(device);
      if (i >= 0) this.behaviours[i]!.burst(messages, withinMs);
    }
  }

  /** hot-chat: every phone favours one chat for forMs (phones not in it ignore it). */
  hotChat(chat: string, share: number, forMs: number): void {
    for (const behaviour of this.behaviours) behaviour.setHotChat(chat, share, forMs);
  }

  /** join-group / leave-group / kick-member: the user's phones list the chat, or stop listing it. */
  membership(user: string, chat: WorkerPhoneSpec['chats'][number], joined: boolean): void {
    this.specs.forEach((spec, i) => {
      if (spec.user !== user) return;
      if (joined) this.phones[i]!.joinChat(chat);
      else this.phones[i]!.leaveChat(chat.id);
    });
  }

  /** Schedules each phone's start at its `startAtMs` after the run start. */
  start(): void {
    const { time, runStartEpochMs } = this.config;
    this.config.phones.forEach((spec, i) => {
      this.timers.push(time.schedule(runStartEpochMs + spec.startAtMs - time.nowMs(), () => {
        this.phones[i]!.start();
        this.behaviours[i]!.start();
      }));
    });
  }

  /**
   * End of the load: no new sends, every network fault ends. Phones whose start falls after
   * the load never join (the checkers owe them nothing). Once reconnects have had time, every
   * phone syncs (spread out, as apps coming to the foreground would be), so a push lost without
   * a later message is noticed: the Jepsen-style final read.
   */
  heal(quiesceMs: number): void {
    this.healed = true;
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
    for (const behaviour of this.behaviours) behaviour.stop();
    for (const network of this.networks) network.heal();
    // The network is back: phones in a reconnect backoff retry now, spread over a second (a
    // phone's backoff can be 30 s, which would leave it away for most of the heal). Told 1 ms
    // later, after the closes heal() delivers from 0 ms timers (a blackholed link is closed,
    // never re-entering the phone): told before, a phone still in its session ignored it, took
    // the close after, and waited out the backoff its failed dials had grown to (swarm seed
    // 5404582: u16/d1, six failed dials since it was last ready, next dial due past the heal: F1).
    this.phones.forEach((phone, i) => this.timers.push(this.config.time.schedule(NETWORK_RESTORED_AFTER_CLOSES_MS, () => phone.networkRestored(i % 1000))));
    const finalSyncAtMs = Math.max(0, quiesceMs / 2);
    this.phones.forEach((phone, i) => this.timers.push(this.config.time.schedule(finalSyncAtMs + (i % 1000), () => phone.syncNow())));
  }

  connectedCount(): number {
    let connected = 0;
    for (const phone of this.phones) if (phone.state().connected) connected++;
    return connected;
  }

  get size(): number {
    return this.phones.length;
  }

  /** Stops every phone and adds what the links did (network.* counters) to the metrics. */
  finish(): void {
    for (const t of this.timers) t.cancel();
    for (const phone of this.phones) phone.stop();
    for (const network of this.networks) {
      for (const [name, value] of Object.entries(network.stats())) this.config.metrics.increment(`network.${name}`, value);
      network.dispose();
    }
  }
}

/** A scenario event's action, as a worker thread receives it, applied to its fleet. */
export function applyFleetAction(fleet: PhoneFleet, action: FleetAction): void {
  switch (action.op) {
    case 'addPhone': return fleet.addPhone(action.spec);
    case 'logout': return fleet.logout(action.device);
    case 'reinstall': return fleet.reinstall(action.device, action.spec);
    case 'tunnel': return fleet.tunnel(action.profile, action.forMs);
    case 'burst': return fleet.burst(action.sends, action.withinMs);
    case 'hotChat': return fleet.hotChat(action.chat, action.share, action.forMs);
    case 'membership': return fleet.membership(action.user, action.chat, action.joined);
  }
}
