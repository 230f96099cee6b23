import type { TimerHandle, TimeSource } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { NetworkProfileSpec } from '../scenario/Scenario.ts';
import type { ClientLink, ClientLinkHandlers, ClientLinkOptions, ClientTransport } from '../transport/ClientTransport.ts';
import { FaultSchedule, faultRatesPerMinute, type FaultKind } from './FaultSchedule.ts';
import { DEFAULT_LINK_OPTIONS, drawDelayMs, emptyStats, type LinkOptions, type LinkStats } from './linkModel.ts';
import { ShapedLink, type LinkHost } from './ShapedLink.ts';

export { DEFAULT_LINK_OPTIONS, type LinkOptions, type LinkStats } from './linkModel.ts';

export type OracleWhat = 'link-up' | 'link-down';
export type StallWhat = 'stall-start' | 'stall-end';

export interface ShapedTransportOptions {
  inner: ClientTransport;
  profile: NetworkProfileSpec;
  time: TimeSource;
  /** This device's own stream: the fault schedule and every delay are drawn from forks of it. */
  random: Random;
  /** `user/device`, passed back to onOracle. */
  device: string;
  /** Ground truth for the checkers: every change of this device's real connectivity. */
  onOracle?: (device: string, what: OracleWhat, atMs: number) => void;
  /**
   * Ground truth too: a connection attempt went out on a working network, so the server will
   * hold this connection whether or not the phone ever hears its open or hello (an offline
   * window, a half-open link or the phone's connect timeout cutting in first leaves it
   * lingering on the server until its heartbeat timeout).
   */
  onDial?: (device: string, atMs: number) => void;
  /**
   * Ground truth too: the device's network froze (`stall-start`) and thawed (`stall-end`, when
   * the held frames start moving again: the stall's end, or heal()). A stall that starts while
   * one is on extends it: one pair per frozen stretch, alternating, starting with start.
   */
  onStall?: (device: string, what: StallWhat, atMs: number) => void;
  /**
   * The OS's connectivity callback: an offline window ended (the network is back). Phones use
   * it to retry at once instead of waiting out a backoff that grew while every attempt failed.
   * Not called by heal() (the harness tells the phones itself then).
   */
  onNetworkBack?: (device: string, atMs: number) => void;
  options?: Partial<LinkOptions>;
}

/**
 * A phone's network, applied to another transport (a real `ws` client in live runs): one-way
 * latency with a long-tailed jitter (see drawDelayMs), bandwidth, stalls, half-open links,
 * resets, offline windows and network switches, at the profile's Poisson rates. One instance
 * per device; the phone holds at most one live link, but older ones may linger half-open.
 *
 * Contract (on top of ClientTransport's):
 * - Each frame, each way, waits for its serialization (bytes / bandwidth, queued per
 *   direction) and then a propagation delay; frames never overtake each other. A phone's
 *   close frame queues behind its data like a real socket's.
 * - Stall: the whole network freezes; frames are held both ways and released in order when it
 *   ends. Not a disconnection.
 * - Half-open: frames (and a server close) are dropped both ways and nothing is closed; the
 *   phone must notice by its heartbeat. When it then aborts, it is told at once, but the inner
 *   socket stays open and silent (the server heard nothing) until the server closes it or
 *   `lingerMs` passes.
 * - Offline window: the current link is closed for the phone at once (1006, "offline") while
 *   the server side lingers half-open; connects fail (1006, "offline") after
 *   `offlineConnectFailMs` until the window ends; then `onNetworkBack` fires once.
 * - Switch: the phone is told its link died (1006, "network switch") and may reconnect at once;
 *   the old socket lingers half-open, so the server briefly holds two connections for the device.
 * - Reset: the inner link is aborted; both ends see it at once and frames in flight are lost.
 * - onClose for the phone's own abort, and for faults, fires from a 0 ms timer: at once in
 *   time, but never re-entering the phone from inside its own call.
 * - Oracle, about the device's current link only (lingering sockets do not count):
 *   `link-up` when a link's open reaches the phone; `link-down` when that link stops carrying
 *   frames (half-open, offline, switch, reset, abort, or the close reaching either end).
 *   Stalls do not count as link changes. Only changes are reported, so events alternate,
 *   starting with up. Stalls are reported apart (`onStall`), whether or not a link is open.
 * - `heal()` ends the current stall, half-open or offline window now and schedules no more
 *   faults; latency and bandwidth stay. A half-open current link is aborted (both ends see it)
 *   so the phone reconnects cleanly, and lingering sockets are dropped: with the path back, the
 *   server's next packet on them would meet a reset anyway.
 * - `dispose()` cancels every timer and drops every inner link; no handler is called afterwards.
 */
export class ShapedTransport implements ClientTransport {
  private readonly options: LinkOptions;
  private readonly counters: LinkStats = emptyStats();
  private readonly links = new Set<ShapedLink>();
  private readonly timers = new Set<TimerHandle>();
  private readonly latencyRandom: Random;
  private readonly faults: FaultSchedule;
  private readonly host: LinkHost;
  private current: ShapedLink | undefined;
  private healed = false;
  private disposed = false;
  private stalledUntilMs = 0;
  /** Set while a stall is on and reported (onStall start); its end is reported by it or by heal(). */
  private stallEndTimer: TimerHandle | undefined;
  private offlineUntilMs = 0;
  private networkBackTimer: TimerHandle | undefined;
  private oracleUp = false;

  constructor(private readonly config: ShapedTransportOptions) {
    this.options = { ...DEFAULT_LINK_OPTIONS, ...config.options };
    this.latencyRandom = config.random.fork('latency');
    this.faults = new FaultSchedule(config.time, config.random.fork('faults'), faultRatesPerMinute(config.profile),
      (kind, random) => this.applyFault(kind, random));
    this.host = this.makeHost();
  }

  open(url: string, token: string, handlers: ClientLinkHandlers, linkOptions?: ClientLinkOptions): ClientLink {
    if (!this.healed) this.faults.start();
    const link = new ShapedLink(this.host, handlers);
    if (this.disposed || this.isOffline()) {
      link.failSoon(this.options.offlineConnectFailMs, this.disposed ? 'disposed' : 'offline');
      return link;
    }
    this.current = link;
    this.links.add(link);
    this.config.onDial?.(this.config.device, this.config.time.nowMs());
    link.attach(this.config.inner.open(url, token, link.innerHandlers(), linkOptions));
    return link;
  }

  /** Ends every fault now and stops drawing new ones; latency and bandwidth remain. */
  heal(): void {
    this.healed = true;
    this.faults.stop();
    this.offlineUntilMs = 0;
    this.networkBackTimer?.cancel();
    this.networkBackTimer = undefined;
    if (this.stalledUntilMs > this.config.time.nowMs()) {
      this.stalledUntilMs = 0;
      this.current?.pump();
    }
    this.endStall();
    if (this.current?.isBlackholed()) this.current.closeForPhone(1006, 'network healed', 'terminate');
    for (const link of [...this.links]) if (link !== this.current) link.terminateInner();
  }

  dispose(): void {
    this.disposed = true;
    this.faults.stop();
    for (const link of [...this.links]) link.dispose();
    this.links.clear();
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    this.current = undefined;
  }

  /**
   * Scenario event tunnel: the network is gone now for forMs, as an offline window of the
   * profile (the link drops for the phone, dials fail, the OS says when it is back). Nothing
   * after heal().
   */
  goOffline(forMs: number): void {
    if (this.healed || this.disposed) return;
    this.counters.offlineWindows++;
    this.offlineUntilMs = Math.max(this.offlineUntilMs, this.config.time.nowMs() + forMs);
    this.current?.dropForPhone('offline');
    this.announceNetworkBack();
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  private isOffline(): boolean {
    return this.config.time.nowMs() < this.offlineUntilMs;
  }

  private makeHost(): LinkHost {
    return {
      time: this.config.time,
      counters: this.counters,
      bandwidthBytesPerSec: this.config.profile.bandwidthBytesPerSec,
      lingerMs: this.options.lingerMs,
      drawDelayMs: () => drawDelayMs(this.config.profile.latencyMs, this.latencyRandom, this.options.jitterTailMax),
      stallEndsAtMs: () => this.stalledUntilMs,
      schedule: (delayMs, fn) => this.schedule(delayMs, fn),
      linkOpened: (link) => { if (link === this.current) this.setOracle(true); },
      linkUnusable: (link) => { if (link === this.current) this.setOracle(false); },
      linkLingering: (link) => { if (link === this.current) this.current = undefined; },
      linkGone: (link) => this.linkGone(link),
    };
  }

  /**
   * A timer that dispose() cancels. Cancelling it also forgets it: a link re-arms its wake timer
   * on every frame, so a set that kept cancelled timers grew with the traffic of a long run.
   */
  private schedule(delayMs: number, fn: () => void): TimerHandle {
    if (this.disposed) return { cancel: () => {} };
    const timer = this.config.time.schedule(Math.max(0, delayMs), () => {
      this.timers.delete(timer);
      if (!this.disposed) fn();
    });
    this.timers.add(timer);
    return { cancel: () => { this.timers.delete(timer); timer.cancel(); } };
  }

  /** Timers armed and not yet fired or cancelled (for tests: this must not grow with traffic). */
  pendingTimerCount(): number {
    return this.timers.size;
  }

  private linkGone(link: ShapedLink): void {
    this.links.delete(link);
    if (link !== this.current) return;
    this.setOracle(false);
    this.current = undefined;
  }

  private setOracle(up: boolean): void {
    if (up === this.oracleUp || this.disposed) return;
    this.oracleUp = up;
    this.config.onOracle?.(this.config.device, up ? 'link-up' : 'link-down', this.config.time.nowMs());
  }

  /** Reports a stall's start (unless one is on) and (re)schedules the report of its end. */
  private reportStall(): void {
    const nowMs = this.config.time.nowMs();
    if (this.stallEndTimer) this.stallEndTimer.cancel();
    else this.config.onStall?.(this.config.device, 'stall-start', nowMs);
    this.stallEndTimer = this.schedule(this.stalledUntilMs - nowMs, () => {
      this.stallEndTimer = undefined;
      this.config.onStall?.(this.config.device, 'stall-end', this.config.time.nowMs());
    });
  }

  /** heal(): a stall that is on ends now. */
  private endStall(): void {
    if (!this.stallEndTimer) return;
    this.stallEndTimer.cancel();
    this.stallEndTimer = undefined;
    this.config.onStall?.(this.config.device, 'stall-end', this.config.time.nowMs());
  }

  /** One connectivity callback at the end of the (possibly extended) offline window. */
  private announceNetworkBack(): void {
    this.networkBackTimer?.cancel();
    this.networkBackTimer = this.schedule(this.offlineUntilMs - this.config.time.nowMs(), () => {
      this.networkBackTimer = undefined;
      this.config.onNetworkBack?.(this.config.device, this.config.time.nowMs());
    });
  }

  /** A fault hits the current link; those that need an open link do nothing without one. */
  private applyFault(kind: FaultKind, random: Random): void {
    const link = this.current;
    switch (kind) {
      case 'stall':
        this.counters.stalls++;
        this.stalledUntilMs = Math.max(this.stalledUntilMs, this.config.time.nowMs() + drawBetween(this.config.profile.stallMs, random));
        this.reportStall();
        return;
      case 'halfOpen':
        if (!link?.isOpen || link.isBlackholed()) return;
        this.counters.halfOpens++;
        link.blackhole();
        return;
      case 'reset':
        if (!link?.isOpen || link.isBlackholed()) return;
        this.counters.resets++;
        link.reset();
        return;
      case 'offline':
        this.counters.offlineWindows++;
        this.offlineUntilMs = Math.max(this.offlineUntilMs, this.config.time.nowMs() + drawBetween(this.config.profile.offlineMs, random));
        link?.dropForPhone('offline');
        this.announceNetworkBack();
        return;
      case 'switch':
        if (!link?.isOpen) return;
        this.counters.switches++;
        link.dropForPhone('network switch');
        return;
    }
  }
}

/** Uniform in [min, max]: profiles give durations as ranges. */
function drawBetween(range: { min: number; max: number }, random: Random): number {
  return range.min + random.nextFloat() * Math.max(0, range.max - range.min);
}
