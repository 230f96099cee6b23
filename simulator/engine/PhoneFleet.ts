import { isBugName } from '../../server/bugs/BugCatalogue.ts';
import type { TimeSource, TimerHandle } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import { phoneOptionsForBugs } from '../bugs/phoneBugOptions.ts';
import type { HistoryEvent, HistoryRecorder } from '../history/HistoryEvent.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import { ShapedTransport } from '../network/ShapedTransport.ts';
import { Phone } from '../phone/Phone.ts';
import { PhoneBehaviour } from '../phone/PhoneBehaviour.ts';
import type { LoadSpec } from '../scenario/Scenario.ts';
import type { ClientTransport } from '../transport/ClientTransport.ts';
import type { WorkerPhoneSpec } from './workerProtocol.ts';
import { ScheduledClock } from './clocks.ts';

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
}

/** How long after an offline window ends the OS tells the app the network is back. */
export const NETWORK_BACK_NOTICE_MS = 500;

/**
 * A set of virtual phones, each with its link profile and its user's behaviour, assembled
 * the same way for a live worker thread and for the simulation engine.
 */
export class PhoneFleet {
  private readonly phones: Phone[] = [];
  private readonly behaviours: PhoneBehaviour[] = [];
  private readonly networks: ShapedTransport[] = [];
  private readonly timers: TimerHandle[] = [];

  constructor(private readonly config: PhoneFleetConfig) {
    const { time, history, runStartEpochMs } = config;
    const options = phoneOptionsForBugs(new Set(config.bugs.filter(isBugName)));
    for (const spec of config.phones) {
      const phoneRandom = config.randomFor(spec);
      const made: { phone?: Phone } = {};
      const network = new ShapedTransport({
        inner: config.transport, profile: spec.profile, time, random: phoneRandom.fork('network'), device: `${spec.user}/${spec.device}`,
        onOracle: (device, what) => history.record({ t: time.nowMs() - runStartEpochMs, p: 'harness', type: 'oracle', what, device } satisfies HistoryEvent),
        onDial: (device) => history.record({ t: time.nowMs() - runStartEpochMs, p: 'harness', type: 'oracle', what: 'link-dial', device } satisfies HistoryEvent),
        // The OS says the network is back: a phone whose attempts all failed offline (its backoff
        // grown to many seconds) retries now, as apps do on Android's and iOS's connectivity callback.
        onNetworkBack: () => made.phone?.networkRestored(NETWORK_BACK_NOTICE_MS),
      });
      const phone = new Phone({
        user: spec.user, device: spec.device, token: spec.token, gatewayUrls: config.gatewayUrls, chats: spec.chats, friends: spec.friends,
        transport: network, time, random: phoneRandom.fork('phone'), history, metrics: config.metrics, startMs: runStartEpochMs, options,
        ...(spec.syncMode ? { syncMode: spec.syncMode } : {}), ...(spec.clock ? { wallClock: new ScheduledClock(time, runStartEpochMs, spec.clock) } : {}),
      });
      made.phone = phone;
      const behaviour = new PhoneBehaviour(phone, {
        messagesPerMinute: config.load.messagesPerMinute, foregroundShare: config.load.foregroundShare,
        typingShare: config.load.typingShare, bodyBytes: config.load.bodyBytes,
      }, time, phoneRandom.fork('behaviour'));
      this.phones.push(phone);
      this.behaviours.push(behaviour);
      this.networks.push(network);
    }
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
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
    for (const behaviour of this.behaviours) behaviour.stop();
    for (const network of this.networks) network.heal();
    // The network is back: phones in a reconnect backoff retry now, spread over a second (a
    // phone's backoff can be 30 s, which would leave it away for most of the heal).
    this.phones.forEach((phone, i) => phone.networkRestored(i % 1000));
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
