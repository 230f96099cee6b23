// The phone's connection: one session at a time through the driver, a connect timeout, a
// heartbeat that finds half-open links, and reconnects with full-jitter backoff around a ring
// of endpoints (a failing gateway is not retried first).
import type { TimerHandle } from '../../server/ports/Clock.ts';
import type { PhoneEvent, SessionClose } from '../drivers/PhoneDriver.ts';
import { fullJitterDelayMs } from './Backoff.ts';
import type { PhoneCore } from './PhoneCore.ts';

/** What the connection tells the rest of the phone. */
export interface ConnectionPeers {
  /** A session began (hello): catch up, ask presence, send the outbox. */
  sessionStarted(): void;
  /** The first sync round of a session is done. */
  ready(): void;
  /** The session is gone (whatever was in flight on it with it). */
  linkLost(): void;
  /** Every event of the current session but its start. */
  onEvent(event: PhoneEvent): void;
}

export class PhoneConnection {
  gateway: string | undefined;
  reconnectAttempt = 0;
  private gatewayIndex: number;
  /** When the last working link was lost; cleared once a new one is synced. */
  private linkLostMs: number | undefined;
  private lastInboundMs = 0;
  private connectTimer: TimerHandle | undefined;
  private heartbeat: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  /** networkRestored's delay, heard during a connect attempt: used if that attempt fails. */
  private networkBackAfterMs: number | undefined;

  constructor(private readonly core: PhoneCore, private readonly peers: ConnectionPeers) {
    const urls = core.config.gatewayUrls;
    this.gatewayIndex = urls.length > 0 ? core.random.nextInt(urls.length) : 0;
  }

  connect(): void {
    const { core } = this;
    const urls = core.config.gatewayUrls;
    if (urls.length === 0) throw new Error(`phone ${core.p}: no gateway URLs`);
    const url = urls[this.gatewayIndex % urls.length]!;
    core.phase = 'connecting';
    this.gateway = url;
    const gen = ++core.linkGen;
    let helloSeen = false;
    const session = core.config.driver.open(url, core.config.token, core.config.metrics, {
      onOpen: () => { if (gen === core.linkGen) this.lastInboundMs = core.nowMs(); },
      onInbound: () => {
        if (gen !== core.linkGen) return false;
        this.lastInboundMs = core.nowMs();
        return true;
      },
      onEvent: (event) => {
        if (gen !== core.linkGen) return;
        if (event.kind !== 'session') return this.peers.onEvent(event);
        helloSeen = true;
        this.onSession(event.heartbeatIntervalMs, event.paging);
      },
      onClose: (close) => { if (gen === core.linkGen) this.onClosed(close, helloSeen); },
    });
    if (gen !== core.linkGen) return; // closed synchronously inside open()
    core.session = session;
    this.connectTimer = core.timers.schedule(core.options.connectTimeoutMs, () => {
      if (gen === core.linkGen && !helloSeen) session.abort();
    });
  }

  /** Cancels every timer and closes the link. Nothing is recorded afterwards. */
  stop(): void {
    const { core } = this;
    core.phase = 'stopped';
    core.timers.close();
    const session = core.session;
    core.session = undefined;
    core.linkGen++;
    session?.close(1000, 'phone stopped');
  }

  /**
   * The OS says the network is back (as Android's and iOS's connectivity callbacks do): a phone
   * waiting out a reconnect backoff tries again after `afterMs` instead of the rest of its
   * backoff, and starts a fresh backoff sequence. A phone in the middle of a connect attempt
   * remembers it: if that attempt fails, the next one follows after `afterMs` (seed 593632: an
   * attempt begun 0.2 s before the heal, while offline, failed just after the callback, and
   * the phone then waited out a backoff longer than the heal, never dialling again: F1).
   * Otherwise nothing changes.
   */
  networkRestored(afterMs: number): void {
    if (this.core.phase === 'connecting') {
      this.networkBackAfterMs = afterMs;
      return;
    }
    if (this.core.phase !== 'backoff' || !this.reconnectTimer) return;
    this.reconnectTimer.cancel();
    this.reconnectAttempt = 0;
    this.reconnectTimer = this.core.timers.schedule(afterMs, () => { this.reconnectTimer = undefined; this.connect(); });
  }

  /** Hello and sync done: measure the outage, then the receipts a closed link left unsent. */
  becomeReady(): void {
    const { core } = this;
    core.phase = 'ready';
    core.record({ type: 'ready' });
    this.reconnectAttempt = 0;
    if (this.linkLostMs !== undefined) {
      core.config.metrics.observe('reconnect', core.nowMs() - this.linkLostMs);
      core.config.metrics.increment('reconnects');
      this.linkLostMs = undefined;
    }
    this.peers.ready();
  }

  private onSession(heartbeatIntervalMs: number, paging: PhoneCore['paging']): void {
    const { core } = this;
    this.connectTimer?.cancel();
    this.networkBackAfterMs = undefined;
    core.paging = paging;
    core.phase = 'syncing';
    core.record({ type: 'connect', gateway: this.gateway ?? '' });
    this.startHeartbeat(heartbeatIntervalMs > 0 ? heartbeatIntervalMs : core.options.heartbeatIntervalMs);
    this.peers.sessionStarted();
  }

  private onClosed(close: SessionClose, helloSeen: boolean): void {
    const { core } = this;
    core.linkGen++;
    core.session = undefined;
    this.connectTimer?.cancel();
    this.heartbeat?.cancel();
    this.peers.linkLost();
    // Bug 'no-reconnect-on-going-away': a draining gateway's going-away close is taken as final.
    const retry = close.retryable && !(core.options.noReconnectOnGoingAway && close.goingAway);
    if (helloSeen || !retry) core.record({ type: 'disconnect', code: close.code, reason: close.reason });
    if (helloSeen) this.linkLostMs ??= core.nowMs();
    else core.config.metrics.increment('connects.failed');
    if (!retry) {
      core.phase = 'closed';
      core.config.metrics.increment('disconnects.final');
      return;
    }
    this.scheduleReconnect();
  }

  /** Full-jitter backoff, then the next gateway in the ring (a failing one is not retried first). */
  private scheduleReconnect(): void {
    const { core } = this;
    core.phase = 'backoff';
    const networkBack = this.networkBackAfterMs;
    this.networkBackAfterMs = undefined;
    if (networkBack !== undefined) {
      // The network came back while this attempt (begun without it) was under way: try again
      // as networkRestored would have, not after the backoff the failures had grown to.
      this.reconnectAttempt = 0;
      this.gatewayIndex++;
      this.reconnectTimer = core.timers.schedule(networkBack, () => { this.reconnectTimer = undefined; this.connect(); });
      return;
    }
    const delayMs = fullJitterDelayMs(this.reconnectAttempt, core.options.reconnectBaseMs, core.options.reconnectCapMs, core.random);
    this.reconnectAttempt++;
    this.gatewayIndex++;
    this.reconnectTimer = core.timers.schedule(delayMs, () => { this.reconnectTimer = undefined; this.connect(); });
  }

  /** Pings every interval; a link silent for `heartbeatTimeoutIntervals` intervals is half-open. */
  private startHeartbeat(intervalMs: number): void {
    const { core } = this;
    this.heartbeat?.cancel();
    const timeoutMs = intervalMs * core.options.heartbeatTimeoutIntervals;
    this.heartbeat = core.timers.every(intervalMs, () => {
      if (core.nowMs() - this.lastInboundMs >= timeoutMs) {
        core.config.metrics.increment('heartbeat.timeouts');
        core.session?.abort();
        return;
      }
      core.send({ kind: 'ping' });
    });
  }
}
