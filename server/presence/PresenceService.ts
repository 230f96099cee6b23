import type { Broker, Subscription } from '../ports/Broker.ts';
import type { TimeSource, TimerHandle } from '../ports/Clock.ts';
import type { Directory } from '../ports/Directory.ts';
import { NO_METRICS, type Metrics } from '../ports/Metrics.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import { gatewayChannel, PRESENCE_EVENTS_CHANNEL, type GatewayDelivery, type PresenceEvent } from '../protocol/envelopes.ts';
import { presenceInstruments, type PresenceInstruments } from '../metrics/instruments.ts';
import type { PresenceFrame, ResyncFrame } from '../protocol/frames.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import { Router } from '../chat/Router.ts';

export interface PresenceServiceDeps {
  time: TimeSource;
  broker: Broker;
  presence: PresenceStore;
  directory: Directory;
  limits: ServerLimits;
  /**
   * Names this life of the service in the numbers of its pushes (PresenceStamp.stream), so a
   * gateway does not take a restarted service's numbers for the old one's. Default: from the
   * start time.
   */
  streamId?: string;
  /** Where announced transitions are counted (docs/metrics.md); default none. */
  metrics?: Metrics;
}

/** Most changed users one sweep takes from the store; the rest wait for the next sweep. */
export const PRESENCE_SWEEP_CHANGED_USERS_MAX = 10_000;

export interface PresenceServiceStats {
  onlineBroadcasts: number;
  offlineBroadcasts: number;
  /** Offline broadcasts cancelled because the user came back inside the debounce window. */
  debouncedFlaps: number;
}

/**
 * Tells friends when a user comes online or goes offline. Online is announced at once;
 * offline waits `presenceDebounceMs` and is dropped if any device comes back, so a phone
 * that flaps on a bad network never shows offline. Announcements go only to friends who
 * are online now (targeted push). A gateway that dies without a word is noticed by sweeping
 * expired presence entries.
 *
 * Runs as one instance (its debounce timers live in memory); it re-reads the store before
 * announcing, so a missed broker event cannot make it announce a wrong state.
 *
 * Each user's events (connected, maybe gone, debounce elapsed) are handled one at a time, in
 * the order they arrive, each to the end of its broadcast. Store reads take time: handled
 * concurrently, a debounce read that still saw no entry could announce offline after the
 * user's connected event had been handled (and skipped, as already online), and an online
 * decided after an offline could overtake it on the way to the broker, because the routing
 * read of one broadcast is slower than the other's. Either way friends kept showing offline
 * a user who was back (test/cluster/presence.test.ts).
 */
export class PresenceService {
  readonly stats: PresenceServiceStats = { onlineBroadcasts: 0, offlineBroadcasts: 0, debouncedFlaps: 0 };
  /** Debounced offline announcements, due at `deadlineMs` (last disconnect + debounce). */
  private readonly pendingOffline = new Map<string, { timer: TimerHandle | undefined; deadlineMs: number }>();
  /** What friends were last told about each user. Absent means never announced (treated as offline). */
  private readonly announced = new Map<string, 'online' | 'offline'>();
  /** Per user, the tail of its queued work; absent when nothing is queued. */
  private readonly work = new Map<string, Promise<void>>();
  private readonly router: Router;
  private subscription: Subscription | undefined;
  private sweepTimer: TimerHandle | undefined;
  private readonly stream: string;
  /** Per gateway, the number of the last presence push published on its channel. */
  private readonly pushSeq = new Map<string, number>();
  private readonly metrics: PresenceInstruments;
  /** The presence store's epoch at the last sweep; `announced` was told from its contents. */
  private storeEpoch: string | undefined;
  /** Until when a user found connected is told to ask presence again (see noticeStoreEpoch). */
  private reaskUntilMs = -Infinity;

  constructor(private readonly deps: PresenceServiceDeps) {
    this.router = new Router(deps.presence, deps.broker);
    this.stream = deps.streamId ?? `presence@${Math.round(deps.time.nowMs())}`;
    this.metrics = presenceInstruments(deps.metrics ?? NO_METRICS);
  }

  async start(): Promise<void> {
    this.subscription = await this.deps.broker.subscribe(PRESENCE_EVENTS_CHANNEL, (payload) => this.onEvent(payload));
    this.sweepTimer = this.deps.time.every(this.deps.limits.presenceSweepIntervalMs, () => void this.sweep());
  }

  async stop(): Promise<void> {
    this.sweepTimer?.cancel();
    await this.subscription?.unsubscribe();
    for (const pending of this.pendingOffline.values()) pending.timer?.cancel();
    this.pendingOffline.clear();
  }

  private onEvent(payload: string): void {
    let event: PresenceEvent;
    try {
      event = JSON.parse(payload) as PresenceEvent;
    } catch {
      return;
    }
    if (event.kind === 'connected') void this.serially(event.user, () => this.onConnected(event.user));
    else void this.serially(event.user, () => this.onMaybeGone(event.user));
  }

  /** Runs `task` after every earlier task of `user` has finished (a failed one included). */
  private serially(user: string, task: () => Promise<void>): Promise<void> {
    const next = (this.work.get(user) ?? Promise.resolve()).then(task).catch(() => undefined);
    this.work.set(user, next);
    void next.then(() => { if (this.work.get(user) === next) this.work.delete(user); });
    return next;
  }

  private async onConnected(user: string): Promise<void> {
    const pending = this.pendingOffline.get(user);
    let overdue = false;
    if (pending) {
      pending.timer?.cancel();
      this.pendingOffline.delete(user);
      this.stats.debouncedFlaps++;
      this.metrics.debouncedFlaps.inc();
      // Past the deadline a presence query already answers offline (it counts from the same
      // last disconnect), so a friend who asked must hear that the user is back.
      overdue = this.deps.time.nowMs() >= pending.deadlineMs;
    }
    if (this.announced.get(user) === 'online' && !overdue) return;
    this.announced.set(user, 'online');
    this.stats.onlineBroadcasts++;
    this.metrics.transitions.inc({ to: 'online' });
    await this.broadcast({ type: 'presence', user, online: true });
  }

  /** A connection of `user` went away; if it was the last one, start the debounce window. */
  private async onMaybeGone(user: string): Promise<void> {
    if (this.pendingOffline.has(user)) return;
    const presence = (await this.deps.presence.getMany([user])).get(user);
    if ((presence?.entries.length ?? 0) > 0) return;
    if (this.pendingOffline.has(user)) return;
    // The window counts from the disconnect the store recorded (a removal, or the sweep of an
    // expired entry), the moment presence queries count from, not from when we heard of it.
    this.startDebounce(user, (presence?.lastDisconnectAtMs ?? this.deps.time.nowMs()) + this.deps.limits.presenceDebounceMs);
  }

  private startDebounce(user: string, deadlineMs: number): void {
    const pending = { timer: undefined as TimerHandle | undefined, deadlineMs };
    // A connected event queued before the timer's turn cancels the window: then nothing is due.
    const elapsed = (): Promise<void> => (this.pendingOffline.get(user) === pending ? this.onDebounceElapsed(user) : Promise.resolve());
    pending.timer = this.deps.time.schedule(Math.max(0, deadlineMs - this.deps.time.nowMs()), () => void this.serially(user, elapsed));
    this.pendingOffline.set(user, pending);
  }

  private async onDebounceElapsed(user: string): Promise<void> {
    this.pendingOffline.delete(user);
    const presence = (await this.deps.presence.getMany([user])).get(user);
    if ((presence?.entries.length ?? 0) > 0) return; // Back, and we missed the connected event.
    // Back and gone again while the window ran, with the connected event lost (swarm seed
    // 4007727): the window counts from the latest disconnect, so it is not over yet.
    const deadlineMs = (presence?.lastDisconnectAtMs ?? -Infinity) + this.deps.limits.presenceDebounceMs;
    if (deadlineMs > this.deps.time.nowMs()) {
      this.startDebounce(user, deadlineMs);
      return;
    }
    if (this.announced.get(user) === 'offline') return;
    this.announced.set(user, 'offline');
    this.stats.offlineBroadcasts++;
    this.metrics.transitions.inc({ to: 'offline' });
    const frame: PresenceFrame = { type: 'presence', user, online: false };
    if (presence?.lastDisconnectAtMs !== undefined) frame.lastSeenMs = presence.lastDisconnectAtMs;
    await this.broadcast(frame);
  }

  /**
   * Finds what changed in the store itself: expired entries (a gateway that died without a word)
   * and entries created or removed (whose broker event may have been lost: the broker is at most
   * once). Each such user is reconciled from the store, so presence is announced from what the
   * store holds, and the events are only the fast path.
   */
  private async sweep(): Promise<void> {
    this.publishMarks();
    let expired;
    let changed;
    try {
      expired = await this.deps.presence.sweepExpired();
      changed = await this.deps.presence.sweepChanged(PRESENCE_SWEEP_CHANGED_USERS_MAX);
    } catch {
      return; // The store is unreachable (restarting, cut off): what expired or changed meanwhile is swept next time.
    }
    // Unreachable now: it went down after the changes were taken, which are of the old contents;
    // the next sweep reads the new epoch before any change of the new contents.
    await this.noticeStoreEpoch().catch(() => undefined);
    const users = new Set([...expired.map((e) => e.userId), ...changed]);
    await Promise.all([...users].map((user) => this.serially(user, () => this.reconcile(user))));
  }

  /**
   * A store that came back empty (restart-presence-store) lost what friends were told from: a
   * friend whose query found the user missing meanwhile heard offline, and the user's return
   * (the gateway writing the entry again) would be skipped as already announced online. So
   * everything announced is forgotten, and each user is announced afresh as the store changes.
   * The other way round, an observer's own entry was lost too: pushes routed before its gateway
   * wrote it back (at its next refresh, within a TTL and a heartbeat) never reached it, and no
   * push number shows that (none was published for it). So until every live connection has been
   * written back, a user found connected is told to ask presence again, and to sync, once it is
   * routable (messages and receipts routed meanwhile were lost the same way).
   * Read after the changes are taken, so every change of the new contents is reconciled after it.
   */
  private async noticeStoreEpoch(): Promise<void> {
    const epoch = await this.deps.presence.epoch();
    if (this.storeEpoch !== undefined && epoch !== this.storeEpoch) {
      this.announced.clear();
      const { presenceTtlMs, heartbeatIntervalMs, presenceSweepIntervalMs } = this.deps.limits;
      this.reaskUntilMs = this.deps.time.nowMs() + presenceTtlMs + heartbeatIntervalMs + presenceSweepIntervalMs;
    }
    this.storeEpoch = epoch;
  }

  /** Announces `user` as the store has them: back (online, cancelling a debounce) or gone (debounce). */
  private async reconcile(user: string): Promise<void> {
    const presence = (await this.deps.presence.getMany([user])).get(user);
    if ((presence?.entries.length ?? 0) === 0) return this.onMaybeGone(user);
    await this.onConnected(user);
    if (this.deps.time.nowMs() > this.reaskUntilMs) return;
    // Presence pushes are not all it missed: messages and receipts routed while its entry was
    // gone were dropped too, and a receipt has no number to show the loss. It asks both again.
    const reasks: ResyncFrame[] = [{ type: 'resync', reason: 'presence-gap' }, { type: 'resync', reason: 'broker-link-restored' }];
    for (const reask of reasks) await this.router.toUsers([user], JSON.stringify(reask));
  }

  private async broadcast(frame: PresenceFrame): Promise<void> {
    // Router looks up which friends are online and publishes once per gateway holding any,
    // each payload numbered on its gateway's channel.
    const friends = await this.deps.directory.friendsOf(frame.user);
    await this.router.toUsers(friends, JSON.stringify(frame), undefined, (gatewayId) => {
      const seq = (this.pushSeq.get(gatewayId) ?? 0) + 1;
      this.pushSeq.set(gatewayId, seq);
      return { stream: this.stream, seq, user: frame.user };
    });
  }

  /**
   * Every sweep, each gateway that was ever sent a push hears the number of the last one. The
   * broker is at most once: a push lost on the way (seed 22: an online lost in a broker-loss
   * window, repaired only when the observer next asked, 17.8 s later) shows there as a gap, and
   * the gateway tells its connections to ask presence again (Gateway.onPresenceStamp). A lost
   * mark is repeated by the next sweep.
   */
  private publishMarks(): void {
    for (const [gatewayId, seq] of this.pushSeq) {
      const mark: GatewayDelivery = { kind: 'presence-mark', stream: this.stream, seq };
      this.deps.broker.publish(gatewayChannel(gatewayId), JSON.stringify(mark)).catch(() => undefined);
    }
  }
}
