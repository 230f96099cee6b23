import type { TimerHandle, TimeSource } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { NetworkProfileSpec } from '../scenario/Scenario.ts';
import type { ClientLink, ClientLinkHandlers, ClientTransport } from '../transport/ClientTransport.ts';

/** Limits of the link model, with units. */
export interface LinkOptions {
  /**
   * How long a link the phone gave up on (half-open, offline, switched away) keeps its inner
   * socket open and silent. A real half-open TCP connection lives until the server's heartbeat
   * timeout notices; the gateway usually closes it first, this is the backstop.
   */
  lingerMs: number;
  /** How long a connect attempt takes to fail while the phone is offline (no route: fast). */
  offlineConnectFailMs: number;
  /** One-way delays are base + jitter x Exp(1), capped at this many jitters (a long but finite tail). */
  jitterTailMax: number;
}

export const DEFAULT_LINK_OPTIONS: LinkOptions = {
  lingerMs: 60_000,
  offlineConnectFailMs: 200,
  jitterTailMax: 8,
};

export type OracleWhat = 'link-up' | 'link-down';

export interface ShapedTransportOptions {
  inner: ClientTransport;
  profile: NetworkProfileSpec;
  time: TimeSource;
  /** This device's own stream: the fault schedule and every delay are drawn from it. */
  random: Random;
  /** `user/device`, passed back to onOracle. */
  device: string;
  /** Ground truth for the checkers: every change of this device's real connectivity. */
  onOracle?: (device: string, what: OracleWhat, atMs: number) => void;
  options?: Partial<LinkOptions>;
}

export interface LinkStats {
  framesDelayed: number;
  framesDropped: number;
  stalls: number;
  halfOpens: number;
  resets: number;
  offlineWindows: number;
  switches: number;
}

type FaultKind = 'stall' | 'halfOpen' | 'reset' | 'offline' | 'switch';

/**
 * A phone's network, applied to another transport (a real `ws` client in live runs): one-way
 * latency with a long-tailed jitter, bandwidth, stalls, half-open links, resets, offline
 * windows and network switches, as the profile's Poisson rates say.
 *
 * Contract (on top of ClientTransport's):
 * - Frames keep their order in each direction whatever the delays.
 * - A stall holds frames both ways and releases them in order when it ends; it is not a
 *   disconnection (no oracle event).
 * - Half-open: frames are dropped both ways and nothing is closed; the phone must notice by its
 *   heartbeat. When it then aborts, it is told at once, but the inner socket stays open and
 *   silent (the server has not heard anything) until the server closes it or `lingerMs` passes.
 * - Offline window: the current link is closed for the phone at once (1006, "offline") while the
 *   server side lingers as half-open; connects fail (1006) until the window ends.
 * - Switch: the phone is told its link died (1006, "network switch") and may reconnect at once;
 *   the old socket lingers half-open, so the server briefly holds two connections for the device.
 * - Reset: the inner link is aborted; both ends see it.
 * - Oracle: `link-up` when a link opens for the phone; `link-down` when the current link stops
 *   carrying frames (half-open, offline, switch, reset, close). Only changes are reported.
 * - `heal()` ends every fault now and schedules no more; latency and bandwidth stay.
 *   `dispose()` cancels every timer and drops every inner link; nothing is called afterwards.
 */
export class ShapedTransport implements ClientTransport {
  private readonly options: LinkOptions;
  private readonly statsValue: LinkStats = { framesDelayed: 0, framesDropped: 0, stalls: 0, halfOpens: 0, resets: 0, offlineWindows: 0, switches: 0 };
  private current: ShapedLink | undefined;
  private readonly lingering = new Set<ShapedLink>();
  private readonly faultTimers = new Map<FaultKind, TimerHandle>();
  private readonly otherTimers = new Set<TimerHandle>();
  private faultsStarted = false;
  private healed = false;
  private disposed = false;
  private stalledUntilMs = 0;
  private offlineUntilMs = 0;
  private oracleUp = false;

  constructor(private readonly config: ShapedTransportOptions) {
    this.options = { ...DEFAULT_LINK_OPTIONS, ...config.options };
  }

  open(url: string, token: string, handlers: ClientLinkHandlers): ClientLink {
    this.startFaults();
    const link = new ShapedLink(this, handlers);
    if (this.disposed || this.isOffline()) {
      link.failSoon(this.options.offlineConnectFailMs, this.disposed ? 'disposed' : 'offline');
      return link;
    }
    this.current = link;
    link.attach(this.config.inner.open(url, token, link.innerHandlers()));
    return link;
  }

  /** Ends every fault now and stops drawing new ones; latency and bandwidth remain. */
  heal(): void {
    this.healed = true;
    for (const timer of this.faultTimers.values()) timer.cancel();
    this.faultTimers.clear();
    this.offlineUntilMs = 0;
    if (this.stalledUntilMs > this.config.time.nowMs()) {
      this.stalledUntilMs = 0;
      this.current?.pump();
    }
    // A half-open link would only be noticed by the phone's heartbeat: close it now so the
    // quiesce phase starts from clean links.
    if (this.current?.isBlackholed()) this.current.closeForPhone(1006, 'network healed');
  }

  dispose(): void {
    this.disposed = true;
    for (const timer of this.faultTimers.values()) timer.cancel();
    this.faultTimers.clear();
    for (const timer of this.otherTimers) timer.cancel();
    this.otherTimers.clear();
    this.current?.dispose();
    for (const link of this.lingering) link.dispose();
    this.lingering.clear();
    this.current = undefined;
  }

  stats(): LinkStats {
    return { ...this.statsValue };
  }

  // ---- used by ShapedLink ----

  /** @internal */ get time(): TimeSource {
    return this.config.time;
  }

  /** @internal */ get counters(): LinkStats {
    return this.statsValue;
  }

  /** @internal */ isDisposed(): boolean {
    return this.disposed;
  }

  /** @internal */ stallEndsAtMs(): number {
    return this.stalledUntilMs;
  }

  /** @internal */ lingerMs(): number {
    return this.options.lingerMs;
  }

  /** @internal A one-way delay: latency with jitter (bandwidth is queued per direction by the link). */
  latencyMs(): number {
    const { base, jitter } = this.config.profile.latencyMs;
    if (jitter <= 0) return base;
    const tail = Math.min(this.options.jitterTailMax, -Math.log(1 - this.config.random.nextFloat()));
    return base + jitter * tail;
  }

  /** @internal */ transmitMs(bytes: number): number {
    const bandwidth = this.config.profile.bandwidthBytesPerSec;
    return bandwidth > 0 ? (bytes * 1000) / bandwidth : 0;
  }

  /** @internal */ schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer = this.config.time.schedule(Math.max(0, delayMs), () => {
      this.otherTimers.delete(timer);
      if (!this.disposed) fn();
    });
    this.otherTimers.add(timer);
    return timer;
  }

  /** @internal */ linkOpened(link: ShapedLink): void {
    if (link === this.current) this.setOracle(true);
  }

  /** @internal */ linkUnusable(link: ShapedLink): void {
    if (link === this.current) this.setOracle(false);
  }

  /** @internal */ linkGone(link: ShapedLink): void {
    this.lingering.delete(link);
    if (link === this.current) {
      this.setOracle(false);
      this.current = undefined;
    }
  }

  /** @internal */ startLinger(link: ShapedLink): void {
    if (link === this.current) this.current = undefined;
    this.lingering.add(link);
  }

  private isOffline(): boolean {
    return this.config.time.nowMs() < this.offlineUntilMs;
  }

  private setOracle(up: boolean): void {
    if (up === this.oracleUp || this.disposed) return;
    this.oracleUp = up;
    this.config.onOracle?.(this.config.device, up ? 'link-up' : 'link-down', this.config.time.nowMs());
  }

  // ---- faults: independent Poisson processes, one per kind ----

  private startFaults(): void {
    if (this.faultsStarted || this.healed) return;
    this.faultsStarted = true;
    const p = this.config.profile;
    const rates: Array<[FaultKind, number]> = [
      ['stall', p.stallsPerMinute], ['halfOpen', p.halfOpenPerMinute], ['reset', p.resetsPerMinute],
      ['offline', p.offlinePerMinute], ['switch', p.switchesPerMinute],
    ];
    for (const [kind, perMinute] of rates) if (perMinute > 0) this.scheduleFault(kind, perMinute, this.config.random.fork(kind));
  }

  private scheduleFault(kind: FaultKind, perMinute: number, random: Random): void {
    const gapMs = (-Math.log(1 - random.nextFloat()) / perMinute) * 60_000;
    this.faultTimers.set(kind, this.config.time.schedule(gapMs, () => {
      if (this.healed || this.disposed) return;
      this.applyFault(kind, random);
      this.scheduleFault(kind, perMinute, random);
    }));
  }

  private applyFault(kind: FaultKind, random: Random): void {
    const link = this.current;
    switch (kind) {
      case 'stall': {
        const { min, max } = this.config.profile.stallMs;
        this.statsValue.stalls++;
        this.stalledUntilMs = Math.max(this.stalledUntilMs, this.config.time.nowMs() + min + random.nextFloat() * (max - min));
        return;
      }
      case 'halfOpen':
        if (!link?.isOpenForPhone() || link.isBlackholed()) return;
        this.statsValue.halfOpens++;
        link.blackhole();
        return;
      case 'reset':
        if (!link?.isOpenForPhone()) return;
        this.statsValue.resets++;
        link.reset();
        return;
      case 'offline': {
        const { min, max } = this.config.profile.offlineMs;
        this.statsValue.offlineWindows++;
        this.offlineUntilMs = Math.max(this.offlineUntilMs, this.config.time.nowMs() + min + random.nextFloat() * (max - min));
        link?.dropForPhone('offline');
        return;
      }
      case 'switch':
        if (!link?.isOpenForPhone()) return;
        this.statsValue.switches++;
        link.dropForPhone('network switch');
        return;
    }
  }
}

type Inbound = { kind: 'open' } | { kind: 'frame'; text: string } | { kind: 'close'; code: number; reason: string };

interface Queued<T> {
  item: T;
  dueAtMs: number;
}

/** One connection as the phone sees it, over one inner link. */
class ShapedLink implements ClientLink {
  private inner: ClientLink | undefined;
  private phoneOpen = false;
  private phoneClosed = false;
  private blackholed = false;
  private innerClosed = false;
  private readonly outbound: Array<Queued<string>> = [];
  private readonly inbound: Array<Queued<Inbound>> = [];
  private outBusyUntilMs = 0;
  private inBusyUntilMs = 0;
  private lastOutDueMs = 0;
  private lastInDueMs = 0;
  private pumpTimer: TimerHandle | undefined;
  private lingerTimer: TimerHandle | undefined;

  constructor(private readonly net: ShapedTransport, private readonly handlers: ClientLinkHandlers) {}

  get isOpen(): boolean {
    return this.phoneOpen && !this.phoneClosed;
  }

  isOpenForPhone(): boolean {
    return this.isOpen;
  }

  isBlackholed(): boolean {
    return this.blackholed;
  }

  attach(inner: ClientLink): void {
    this.inner = inner;
  }

  innerHandlers(): ClientLinkHandlers {
    return {
      onOpen: () => this.enqueueInbound({ kind: 'open' }, 0),
      onFrame: (text) => this.enqueueInbound({ kind: 'frame', text }, Buffer.byteLength(text)),
      onClose: (code, reason) => this.onInnerClose(code, reason),
    };
  }

  send(text: string): void {
    if (!this.isOpen) return;
    if (this.blackholed) {
      this.net.counters.framesDropped++;
      return;
    }
    const nowMs = this.net.time.nowMs();
    const startMs = Math.max(nowMs, this.outBusyUntilMs);
    this.outBusyUntilMs = startMs + this.net.transmitMs(Buffer.byteLength(text));
    const dueAtMs = Math.max(this.lastOutDueMs, this.outBusyUntilMs + this.net.latencyMs());
    this.lastOutDueMs = dueAtMs;
    if (dueAtMs > nowMs) this.net.counters.framesDelayed++;
    this.outbound.push({ item: text, dueAtMs });
    this.pump();
  }

  close(code = 1000, reason = ''): void {
    if (this.phoneClosed) return;
    if (this.blackholed || !this.inner) {
      this.closeForPhone(1006, reason || 'closed');
      return;
    }
    this.inner.close(code, reason);
  }

  abort(): void {
    if (this.phoneClosed) return;
    // Half-open: the server cannot hear this, so the socket lingers. Otherwise the local stack
    // drops it and the server sees the reset. Either way frames still in flight are lost.
    const wasBlackholed = this.blackholed;
    this.closeForPhone(1006, 'aborted');
    if (!wasBlackholed && !this.innerClosed) this.inner?.abort();
  }

  /** Half-open: frames vanish both ways from now on, nothing is closed. */
  blackhole(): void {
    if (this.blackholed) return;
    this.blackholed = true;
    this.net.counters.framesDropped += this.outbound.length + this.inbound.filter((q) => q.item.kind === 'frame').length;
    this.outbound.length = 0;
    // An inner close already queued still reaches the phone: a close is not lost on a dead link in our model.
    const closes = this.inbound.filter((q) => q.item.kind === 'close');
    this.inbound.length = 0;
    this.inbound.push(...closes);
    this.net.linkUnusable(this);
  }

  /** Offline or network switch: the phone's OS tells it at once; the server keeps a half-open socket. */
  dropForPhone(reason: string): void {
    this.blackhole();
    this.closeForPhone(1006, reason);
  }

  reset(): void {
    this.net.linkUnusable(this);
    this.inner?.abort();
  }

  /** Closes the link for the phone (exactly once) and leaves the inner socket to linger if it is still up. */
  closeForPhone(code: number, reason: string): void {
    if (this.phoneClosed) return;
    this.phoneClosed = true;
    if (!this.blackholed) this.blackhole();
    if (this.innerClosed || !this.inner) this.net.linkGone(this);
    else {
      this.net.startLinger(this);
      this.lingerTimer = this.net.schedule(this.net.lingerMs(), () => this.inner?.abort());
    }
    // Never re-enter the phone from inside its own call.
    this.net.schedule(0, () => this.handlers.onClose(code, reason));
  }

  /** A connect that cannot happen (offline, disposed): fails after `delayMs`, never synchronously. */
  failSoon(delayMs: number, reason: string): void {
    this.phoneClosed = true;
    this.net.schedule(delayMs, () => this.handlers.onClose(1006, reason));
  }

  dispose(): void {
    this.pumpTimer?.cancel();
    this.lingerTimer?.cancel();
    this.phoneClosed = true;
    if (!this.innerClosed) this.inner?.abort();
  }

  /** Delivers whatever is due in both directions, in order, unless a stall holds the link. */
  pump(): void {
    this.pumpTimer?.cancel();
    this.pumpTimer = undefined;
    if (this.net.isDisposed()) return;
    const nowMs = this.net.time.nowMs();
    const stallEndMs = this.net.stallEndsAtMs();
    if (stallEndMs > nowMs && !this.blackholed) {
      this.pumpTimer = this.net.schedule(stallEndMs - nowMs, () => this.pump());
      return;
    }
    while (this.outbound[0] && this.outbound[0].dueAtMs <= nowMs) {
      const text = this.outbound.shift()!.item;
      if (this.inner?.isOpen) this.inner.send(text);
    }
    while (this.inbound[0] && this.inbound[0].dueAtMs <= nowMs) this.deliver(this.inbound.shift()!.item);
    const next = Math.min(this.outbound[0]?.dueAtMs ?? Infinity, this.inbound[0]?.dueAtMs ?? Infinity);
    if (next !== Infinity) this.pumpTimer = this.net.schedule(next - nowMs, () => this.pump());
  }

  private enqueueInbound(item: Inbound, bytes: number): void {
    if (this.blackholed && item.kind !== 'close') {
      if (item.kind === 'frame') this.net.counters.framesDropped++;
      return;
    }
    const nowMs = this.net.time.nowMs();
    const startMs = Math.max(nowMs, this.inBusyUntilMs);
    this.inBusyUntilMs = startMs + this.net.transmitMs(bytes);
    const dueAtMs = Math.max(this.lastInDueMs, this.inBusyUntilMs + (item.kind === 'close' ? 0 : this.net.latencyMs()));
    this.lastInDueMs = dueAtMs;
    this.inbound.push({ item, dueAtMs });
    this.pump();
  }

  private deliver(item: Inbound): void {
    if (this.phoneClosed) return;
    switch (item.kind) {
      case 'open':
        this.phoneOpen = true;
        this.net.linkOpened(this);
        this.handlers.onOpen();
        return;
      case 'frame':
        this.handlers.onFrame(item.text);
        return;
      case 'close':
        this.phoneClosed = true;
        this.net.linkGone(this);
        this.handlers.onClose(item.code, item.reason);
        return;
    }
  }

  private onInnerClose(code: number, reason: string): void {
    this.innerClosed = true;
    this.lingerTimer?.cancel();
    if (this.phoneClosed) {
      this.net.linkGone(this);
      return;
    }
    this.net.linkUnusable(this);
    if (this.blackholed) {
      // The server closed a half-open link: the close frame is lost, the FIN/RST is not.
      this.closeForPhone(1006, reason || 'connection lost');
      return;
    }
    this.enqueueInbound({ kind: 'close', code, reason }, 0);
  }
}
