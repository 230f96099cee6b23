// Every limit and delay of the phone model, with its default, in one place.

export interface PhoneOptions {
  /** Coalescing window for delivery acks: one cumulative ack per burst. */
  ackDelayMs: number;
  /** Read receipts wait this long after the first unread message became visible. */
  readDebounceMs: number;
  /** Reconnect backoff: full jitter in [0, min(cap, base * 2^attempt)]. */
  reconnectBaseMs: number;
  reconnectCapMs: number;
  /** Send retry backoff while no `sent` ACK arrived (same clientMsgId every time). */
  sendRetryBaseMs: number;
  sendRetryCapMs: number;
  /** Used until a hello frame names the server's heartbeat interval. */
  heartbeatIntervalMs: number;
  /** No frame at all for this many heartbeat intervals: the link is half-open, abort it. */
  heartbeatTimeoutIntervals: number;
  /** An open attempt (socket + hello) taking longer than this is aborted. */
  connectTimeoutMs: number;
  /** A sync request without a result after this long is sent again. */
  syncTimeoutMs: number;
  /** A presence query without an answer after this long (on the same link) is asked again. */
  presenceQueryTimeoutMs: number;
  /** A gap waits this long for the missing push before a sync is asked for. */
  gapSyncDelayMs: number;
  /** At most one typing frame per chat per window (apps throttle the indicator too). */
  typingThrottleMs: number;
  /**
   * Injected bug `swallow-trailing-receipt` (server/bugs/BugCatalogue.ts): the read debounce
   * reports only what was visible when its window opened, so the trailing read of a burst is
   * never sent. False in every correct run.
   */
  swallowTrailingReceipt: boolean;
  /** Injected bug `no-reconnect-on-going-away`: close code 1001 (a gateway draining) is taken as final. False in every correct run. */
  noReconnectOnGoingAway: boolean;
  /** Injected bug `render-duplicate-push`: a pushed message already held is rendered again. False in every correct run. */
  renderDuplicatePush: boolean;
  /** Injected bug `render-out-of-order-push`: a push above a gap is rendered at once. False in every correct run. */
  renderOutOfOrderPush: boolean;
  /** Bug 'fresh-install-stale-watermark' (read by PhoneFleet.reinstall): a fresh install starts from the old device's watermarks. */
  freshInstallStaleWatermark: boolean;
  /** Injected bug `phone-wall-clock-presence`: presence pushes and queries are ordered by the wall clock (which can jump). False in every correct run. */
  wallClockPresence: boolean;
}

export const DEFAULT_PHONE_OPTIONS: Readonly<PhoneOptions> = Object.freeze({
  ackDelayMs: 50,
  readDebounceMs: 500,
  reconnectBaseMs: 500,
  reconnectCapMs: 30_000,
  sendRetryBaseMs: 1_000,
  sendRetryCapMs: 30_000,
  heartbeatIntervalMs: 25_000,
  heartbeatTimeoutIntervals: 2,
  connectTimeoutMs: 10_000,
  syncTimeoutMs: 15_000,
  presenceQueryTimeoutMs: 3_000,
  gapSyncDelayMs: 100,
  typingThrottleMs: 3_000,
  swallowTrailingReceipt: false,
  noReconnectOnGoingAway: false,
  renderDuplicatePush: false,
  renderOutOfOrderPush: false,
  freshInstallStaleWatermark: false,
  wallClockPresence: false,
});
