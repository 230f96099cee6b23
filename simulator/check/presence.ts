import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { Finding, fmt, getOr, unknown, userOf, type Family, type Settings } from './common.ts';
import type { PropertyResult } from './PropertyResult.ts';
import { amplification, converges, dueAfterLossWindows, latePushEpisode, offlineShows, returnDialMs, snapshotEpisode, type Episode, type FaultWindow, type PresenceFacts } from './presenceVerdicts.ts';
import { PRESENCE_FAULT, PRESENCE_STORE_FAULT, type RunState } from './runState.ts';
import { StallWindows } from './stallWindows.ts';

/**
 * Faults in whose windows presence pushes cannot arrive (D3 counts from their end). A presence
 * store restarted empty loses the routes pushes follow until each gateway writes its
 * connections back, at their next refresh: its window lasts a TTL past the store's return.
 */
const PUSH_LOSS_FAULT = /^(pause-gateway|partition-gateway|lose-broker-messages|lose-broker-channel|restart-presence-store|restart-target)$/;

/**
 * Faults that hold a chat server's lanes (a store outage or slow store under a send, a paused,
 * killed or restarted chat server): a presence answer queued behind them waits for their end.
 */
const LANE_HOLD_FAULT = /^(store-outage|slow-store|pause-chat-server|kill-chat-server|restart-chat-servers)$/;

/** Ended episodes kept per user for judging delayed query answers (enough for any realistic delay). */
const RECENT_EPISODES_MAX = 32;

/** An observer that saw the user offline when the user came back: it owes an online notice. */
interface OwedOnline {
  observer: string;
  dueMs: number;
  backAtMs: number;
  linkEpoch: number;
  /**
   * The observer's link came up after the returning device dialled (returnDialMs): the server
   * may have announced the return before it registered the observer's connection, so what is
   * owed is the answer to the query the observer asks at its hello (swarm seed 4022936).
   */
  racedReturn: boolean;
}

/**
 * D1–D7, presence. The truth is each device's real connectivity (the phone's hello/close and
 * the network oracle's link-up/link-down); a user is offline only while every device is down.
 * Each offline notice an observer saw is classified once: legit (an episode at least the
 * debounce long), a flap (D1), wrong while a device was connected (D5), or during a gateway
 * fault (D7).
 */
export class PresenceFamily implements Family {
  private readonly deviceUp = new Map<string, boolean>();
  private readonly upCount = new Map<string, number>();
  private readonly current = new Map<string, Episode>();
  private readonly lastEnded = new Map<string, Episode>();
  /** The user's latest ended episodes, newest last (at most RECENT_EPISODES_MAX), for query snapshots. */
  private readonly recentEnded = new Map<string, Episode[]>();
  private readonly episodes: Episode[] = [];
  /** The spans before each user's first connection, kept for their ghost attempts (D6). */
  private readonly firstAbsences: Episode[] = [];
  /** observer device -> its connected spans, for D2 (was it there to be told?). */
  private readonly spans = new Map<string, Array<[number, number]>>();
  private readonly linkEpoch = new Map<string, number>();
  /** observer|user -> seen changes [t, online]. */
  private readonly seen = new Map<string, Array<[number, boolean]>>();
  private readonly observersOf = new Map<string, Set<string>>();
  private readonly owedOnline = new Map<string, OwedOnline[]>();
  private readonly attributed = new Map<string, number>();
  /** Presence store restarts under way, and when the last one ended (presenceStoreLostRecords). */
  private presenceStoreFaults = 0;
  private lastPresenceStoreFaultEndMs = -Infinity;
  private lastGatewayFaultEndMs = -Infinity;
  /** Pause and partition windows of gateways, in start order (end Infinity while on), for D2. */
  private readonly gatewayWindows: FaultWindow[] = [];
  /** Windows in which pushes cannot arrive (D3's due, see onlineDue): gateway pause and partition, broker loss. */
  private readonly pushLossWindows: FaultWindow[] = [];
  /** Windows that hold chat server lanes (LANE_HOLD_FAULT): the repair of a lost push waits them out. */
  private readonly laneHoldWindows: FaultWindow[] = [];
  /** Each device's network stalls: a push to an observer waits them out (D2, D3, late pushes). */
  private readonly stalls = new StallWindows();
  private readonly d1 = new Finding();
  private readonly d3 = new Finding();
  private readonly d5 = new Finding();
  private readonly d7 = new Finding();

  constructor(private readonly state: RunState, private readonly settings: Settings) {
    for (const [user, devices] of state.devicesOfUser) {
      this.upCount.set(user, 0);
      this.current.set(user, { user, startMs: -Infinity, endMs: Infinity });
      for (const d of devices) this.deviceUp.set(d, false);
    }
  }

  observe(e: HistoryEvent): void {
    switch (e.type) {
      case 'connect':
      case 'disconnect': return this.onLink(e.p, e.t);
      case 'oracle':
        this.stalls.observe(e);
        if (e.what === 'link-up' || e.what === 'link-down') this.onLink(e.device, e.t);
        else if (e.what === 'link-dial') this.onDial(e.device, e.t);
        else if (e.what === 'fault-start' && /^(pause|partition)-gateway$/.test(e.fault)) this.gatewayWindows.push({ kind: e.fault, startMs: e.t, endMs: Infinity });
        else if (e.what === 'fault-end' && PRESENCE_FAULT.test(e.fault)) {
          this.lastGatewayFaultEndMs = e.t;
          const open = this.gatewayWindows.find((w) => w.kind === e.fault && w.endMs === Infinity);
          if (open) open.endMs = e.t;
        }
        if (e.what === 'fault-start' && PUSH_LOSS_FAULT.test(e.fault)) this.pushLossWindows.push({ kind: e.fault, startMs: e.t, endMs: Infinity });
        else if (e.what === 'fault-end' && PUSH_LOSS_FAULT.test(e.fault)) {
          const open = this.pushLossWindows.find((w) => w.kind === e.fault && w.endMs === Infinity);
          if (open) open.endMs = e.t + (e.fault === 'restart-presence-store' ? this.settings.ttlMs : 0);
        }
        if (e.what === 'fault-start' && LANE_HOLD_FAULT.test(e.fault)) this.laneHoldWindows.push({ kind: e.fault, startMs: e.t, endMs: Infinity });
        else if (e.what === 'fault-end' && LANE_HOLD_FAULT.test(e.fault)) {
          const open = this.laneHoldWindows.find((w) => w.kind === e.fault && w.endMs === Infinity);
          if (open) open.endMs = e.t;
        }
        if (e.what === 'fault-start' && PRESENCE_STORE_FAULT.test(e.fault)) this.presenceStoreFaults++;
        else if (e.what === 'fault-end' && PRESENCE_STORE_FAULT.test(e.fault)) { this.presenceStoreFaults = Math.max(0, this.presenceStoreFaults - 1); this.lastPresenceStoreFaultEndMs = e.t; }
        return;
      case 'presence-seen': return this.onSeen(e);
      default: return;
    }
  }

  // ------------------------------------------------------------- truth

  private onLink(p: string, t: number): void {
    const up = this.state.isConnected(p);
    if ((this.deviceUp.get(p) ?? false) === up) return;
    this.deviceUp.set(p, up);
    const spans = getOr(this.spans, p, () => []);
    if (up) spans.push([t, Infinity]);
    else {
      const upSinceMs = spans.at(-1)?.[0];
      if (spans.length > 0) spans[spans.length - 1]![1] = t;
      this.linkEpoch.set(p, (this.linkEpoch.get(p) ?? 0) + 1);
      const ended = this.lastEnded.get(userOf(p));
      if (upSinceMs !== undefined && t - upSinceMs <= this.settings.causalSlackMs && ended?.endedBy === p && ended.endMs === upSinceMs) ended.closedOnArrival = true;
    }
    const user = userOf(p);
    const before = this.upCount.get(user) ?? 0;
    const after = before + (up ? 1 : -1);
    this.upCount.set(user, after);
    if (before === 0 && after > 0) this.userBack(user, t, p);
    else if (before > 0 && after === 0) this.userGone(user, t);
  }

  /**
   * Attempts are kept for every absence, the one before the user's first connection too: an
   * attempt the server accepted but the phone never completed (an offline window cutting in
   * before the open arrived) tells friends the user is online, and the server's heartbeat
   * timeout and debounce then tell them offline, though the user never connected (seeds
   * 673042 and 674284).
   */
  private onDial(p: string, t: number): void {
    const episode = this.current.get(userOf(p));
    if (episode) (episode.dials ??= []).push([p, t]);
  }

  private userBack(user: string, t: number, by: string): void {
    const episode = this.current.get(user);
    this.current.delete(user);
    if (!episode) return;
    episode.endMs = t;
    episode.endedBy = by;
    this.lastEnded.set(user, episode);
    const recent = getOr(this.recentEnded, user, () => []);
    recent.push(episode);
    if (recent.length > RECENT_EPISODES_MAX) recent.shift();
    if (Number.isFinite(episode.startMs)) this.episodes.push(episode);
    else this.firstAbsences.push(episode);
    for (const observer of this.observersOf.get(user) ?? []) {
      const last = this.seen.get(`${observer}|${user}`)?.at(-1);
      if (last && !last[1]) this.oweOnline(observer, user, episode);
    }
  }

  /** `observer` shows `user` offline though the user is back since `backAtMs`: the online is due. */
  private oweOnline(observer: string, user: string, episode: Episode): void {
    if (!this.state.isConnected(observer)) return;
    const backAtMs = episode.endMs;
    const racedReturn = (this.spans.get(observer)?.at(-1)?.[0] ?? -Infinity) >= returnDialMs(episode);
    getOr(this.owedOnline, user, () => []).push({ observer, dueMs: backAtMs + this.settings.propagationMs, backAtMs, linkEpoch: this.linkEpoch.get(observer) ?? 0, racedReturn });
  }

  /**
   * When an owed online is due: the propagation bound after the return, moved past the windows
   * in which pushes cannot arrive and the lane holds behind them (dueAfterLossWindows; windows
   * are read when the verdict is taken, so one that opened after the return counts too), then
   * by the observer's own network stalls from the return on: a push waits out a stall.
   * `answeredQuery`: the online shown answers a query the observer asked before the return, so
   * no push showed it in time and the query is the repair; its answer waits out lane holds too.
   */
  private onlineDue(o: OwedOnline, answeredQuery = false): number {
    const due = dueAfterLossWindows({ pushLoss: this.pushLossWindows, laneHold: this.laneHoldWindows }, o.backAtMs, o.dueMs, this.settings.propagationMs, o.racedReturn || answeredQuery);
    return this.stalls.extend(o.observer, o.backAtMs, due);
  }

  // ------------------------------------------------------------- what observers saw

  private onSeen(e: Extract<HistoryEvent, { type: 'presence-seen' }>): void {
    const key = `${e.p}|${e.user}`;
    const list = getOr(this.seen, key, () => []);
    getOr(this.observersOf, e.user, () => new Set()).add(e.p);
    const changed = list.length === 0 || list[list.length - 1]![1] !== e.online;
    if (changed) list.push([e.t, e.online]);
    if (e.online) return this.onlineSeen(e);
    if (changed) this.classifyOffline(e);
  }

  private onlineSeen(e: Extract<HistoryEvent, { type: 'presence-seen' }>): void {
    const owed = this.owedOnline.get(e.user);
    if (!owed) return;
    // One online shown settles every return this observer was owed for the user: it may be
    // owed twice (the user came back, left and came back while the observer still showed
    // offline), and one notice shows both. Lateness counts from the earliest.
    let earliest: OwedOnline | undefined;
    for (let i = owed.length - 1; i >= 0; i--) {
      const o = owed[i]!;
      if (o.observer !== e.p) continue;
      owed.splice(i, 1);
      // The observer's link died after the user came back (a half-open link, a reset): the push
      // had nowhere to go, and the answer to its query after reconnecting is what it saw.
      if ((this.linkEpoch.get(o.observer) ?? 0) !== o.linkEpoch) continue;
      if (!earliest || o.dueMs < earliest.dueMs) earliest = o;
    }
    const o = earliest;
    // Swarm seed 4406669: u15/d3's link reset just after u21 came back (the online push lost with
    // it); its hello query on the new link waited behind a slow store and a paused chat server,
    // and u21's later short drop (no offline announced for it) made a return owed from 3.996 s.
    // The answer to that query, asked before the return, is what showed it: lane holds count.
    const answeredQuery = o !== undefined && e.askedAt !== undefined && e.askedAt <= o.backAtMs;
    if (o && e.t > this.onlineDue(o, answeredQuery) + this.settings.tolMs) this.d3.hit(e.t - o.backAtMs, () => `${e.user} came back at ${fmt(o.backAtMs)} but device ${e.p} saw it online only at ${fmt(e.t)} (${Math.round(e.t - o.backAtMs)} ms later)`);
  }

  /**
   * The user is gone again at `t`: a return whose online was not yet due by then is owed no
   * notice (a stay shorter than the propagation bound need not show at all). Returns already
   * due stay owed, and a late online for them still fails D3.
   */
  private userGone(user: string, t: number): void {
    this.current.set(user, { user, startMs: t, endMs: Infinity });
    const owed = this.owedOnline.get(user);
    if (!owed) return;
    for (let i = owed.length - 1; i >= 0; i--) if (this.onlineDue(owed[i]!) > t) owed.splice(i, 1);
  }

  /**
   * Whether a presence store restart (restart-presence-store) may explain an early offline at
   * `t`: during it, or within debounce + TTL + propagation after it, by when every record lost
   * is either written again (gateways re-register) or past its debounce anyway.
   */
  private presenceStoreLostRecords(t: number): boolean {
    if (this.presenceStoreFaults > 0) return true;
    return t - this.lastPresenceStoreFaultEndMs <= this.settings.debounceMs + this.settings.ttlMs + this.settings.propagationMs;
  }

  private classifyOffline(e: Extract<HistoryEvent, { type: 'presence-seen' }>): void {
    const minMs = this.settings.debounceMs - this.settings.tolMs;
    const now = this.current.get(e.user);
    // A query's answer is a snapshot taken between asking and hearing: an episode that was still
    // on when the phone asked explains it, including "never connected yet" (no finite start).
    // The gateway writes presence before its hello, so the episode ends (hello heard) after any
    // snapshot that still saw it: only the phones' shared clock slack is allowed.
    // Several episodes may have ended since the ask (an answer delayed behind a loaded server):
    // the snapshot may have been taken in any of them, so one long enough (or "never connected
    // yet") explains it. (flaky-mobile on the multi-process cluster: u481 asked at 5.236 s,
    // before u668 ever connected, and heard "offline" at 8.456 s, after u668's 0.3 s drop.)
    const snapshotOf = e.askedAt !== undefined ? snapshotEpisode(this.recentEnded.get(e.user) ?? [], e.askedAt - this.settings.causalSlackMs, minMs) : undefined;
    // A push travels: the presence service broadcasts offline at the end of the debounce, and
    // if the user comes back a moment later, an observer on a slow or stalled link hears the
    // offline after the episode ended (then the online right behind it). A notice reaching the
    // observer within the propagation bound of an episode's end is that episode's, as D2 and
    // D3 allow propagationMs for a change to arrive. (flaky-mobile for 5 simulated minutes:
    // u1505 back at 264.702 s, u864/d1 heard the offline at 265.365 s and the online with it.)
    // It does not excuse a wrong state: the observer now shows a user who is back as offline,
    // so it is owed the online within the same bound (D3), exactly like an observer that saw
    // the offline before the user came back.
    // Several episodes may have ended within that bound: the user came back from a long absence,
    // dropped briefly and came back again while the long absence's offline was still held by the
    // observer's stalled link (sim seed 1001833: u3 down from 10.627 s to 16.633 s, offline
    // broadcast at about 16.14 s, down again from 16.871 s to 17.227 s; u19/d1, its link stalled
    // from about 15.4 s, heard the offline and the online with it at 17.260 s). The late push may
    // be any of theirs.
    // The observer's network stalls hold a push for as long as they last: it may be older by that much.
    const latePushOf = e.askedAt === undefined ? latePushEpisode(this.recentEnded.get(e.user) ?? [], this.stalls.sentFrom(e.p, e.t, this.settings.propagationMs + this.settings.tolMs), minMs) : undefined;
    const legit = (ep: Episode): boolean => ep.endMs - ep.startMs >= minMs && e.t - ep.startMs >= minMs;
    // An answer heard during a new short drop may still be a snapshot of a long absence before it.
    // Likewise a push heard during a new short drop may be the late offline of a long absence
    // that ended just before it (sim seed 152 of issue 14's widened swarm: every swarm-flaky phone
    // in a tunnel; u24 down from 12.2 s to 20.26 s, offline broadcast at 19.4 s, held by the
    // observer's stalled link and heard at 21.000 s, 645 ms into u24's next drop).
    const episode = now && snapshotOf && !legit(now) && legit(snapshotOf) ? snapshotOf
      : now && latePushOf && !legit(now) && legit(latePushOf) ? latePushOf
        : now ?? snapshotOf ?? latePushOf;
    if (episode) {
      const shownAfterMs = e.t - episode.startMs;
      const lengthMs = Math.min(episode.endMs, e.t) - episode.startMs;
      if (episode.endMs - episode.startMs >= minMs && shownAfterMs >= minMs) {
        if (!now) this.oweOnline(e.p, e.user, episode);
        // The user is back, yet the answer says offline: after a presence store restart the store
        // may read empty until the gateway writes the entry again, so a snapshot "of" an old
        // absence is the fault's, a transition D6 allows once more (sim seed 4001430: u21 online
        // from 7.665 s, store restarted at 7.8 s, u24/d1's query answered offline at 9.371 s).
        if (!now && this.presenceStoreLostRecords(e.t)) this.attributed.set(`${e.p}|${e.user}`, (this.attributed.get(`${e.p}|${e.user}`) ?? 0) + 1);
        return;
      }
      if (this.presenceStoreLostRecords(e.t)) {
        // The presence store restarted empty: the last disconnect a query counts the debounce
        // from is gone, so a query answers offline at once. By design under the fault (D7's
        // class, like an offline shown while a gateway was cut off); D4 still judges the end.
        this.attributed.set(`${e.p}|${e.user}`, (this.attributed.get(`${e.p}|${e.user}`) ?? 0) + 1);
        this.d7.hit(1, () => `device ${e.p} was shown ${e.user} offline at ${fmt(e.t)}, ${Math.round(shownAfterMs)} ms into a disconnect, after the presence store restarted empty`);
        return;
      }
      // A gateway cut off or frozen lets its connected users' entries lapse, and the offline
      // that follows can land just after a short drop began (seed 900322: u27/d1 behind a
      // partition from 9.7 s, reset at 14.435 s, friends told offline at 14.68 s): the fault's,
      // like an offline while devices are connected (D7), not the drop's.
      if (this.attribute(e, [], 'a short drop')) return;
      this.d1.hit(minMs - lengthMs, () => `${e.user}'s devices were all disconnected from ${fmt(episode.startMs)} ${episode.endMs === Infinity ? 'on' : `to ${fmt(episode.endMs)}`}, yet device ${e.p} was shown ${e.user} offline at ${fmt(e.t)}, ${Math.round(shownAfterMs)} ms in: before the ${this.settings.debounceMs} ms debounce`);
      return;
    }
    const connected = this.state.devicesOf(e.user).filter((d) => this.state.isConnected(d));
    if (this.attribute(e, connected, connected.join(', ') || 'its devices')) return;
    this.d5.hit(1, () => `device ${e.p} was shown ${e.user} offline at ${fmt(e.t)} while ${connected.length > 0 ? `${connected.join(', ')} ${connected.length === 1 ? 'was' : 'were'} connected` : 'a device was connected'} and no fault was active`);
  }

  /** An offline shown during (or soon after) a gateway fault is D7's class: counted, allowed once more to D6. */
  private attribute(e: Extract<HistoryEvent, { type: 'presence-seen' }>, connected: string[], who: string): boolean {
    const fault = this.state.gatewayFaultActive() ?? (e.t - this.lastGatewayFaultEndMs <= this.settings.debounceMs + this.settings.ttlMs + this.settings.propagationMs ? 'a recent gateway fault' : undefined);
    if (!fault) return false;
    this.attributed.set(`${e.p}|${e.user}`, (this.attributed.get(`${e.p}|${e.user}`) ?? 0) + 1);
    this.d7.hit(1, () => `device ${e.p} was shown ${e.user} offline at ${fmt(e.t)} while ${connected.length > 0 ? `${who} stayed connected` : `${e.user} was in ${who}`}, during ${fault}`);
    return true;
  }

  // ------------------------------------------------------------- end of run

  finish(): PropertyResult[] {
    const endMs = this.state.endMs;
    for (const episode of this.current.values()) (Number.isFinite(episode.startMs) ? this.episodes : this.firstAbsences).push(episode);
    this.unresolvedOnline(endMs);
    const noPresence = this.seen.size === 0;
    const why = 'no presence-seen events in the history (no friends, or presence never queried)';
    const d7 = this.d7.result('D7', 'attribution of gateway-fault offline');
    return [
      noPresence ? unknown('D1', 'no flap', why) : this.d1.result('D1', 'no flap', `tolerance ${this.settings.tolMs} ms below the ${this.settings.debounceMs} ms debounce`),
      noPresence ? unknown('D2', 'offline does show', why) : offlineShows(this.facts(), endMs),
      noPresence ? unknown('D3', 'online is prompt', why) : this.d3.result('D3', 'online is prompt'),
      noPresence ? unknown('D4', 'presence converges', why) : converges(this.facts(), endMs),
      noPresence ? unknown('D5', 'multi-device', why) : this.d5.result('D5', 'multi-device: offline only when all devices are gone'),
      noPresence ? unknown('D6', 'no flap amplification', why) : amplification(this.facts()),
      // Attribution is a class of its own, reported but not a failure: a paused gateway looks dead.
      { ...d7, verdict: 'pass', violations: 0, reason: `${d7.violations} offline notice(s) shown during a gateway pause/partition/crash while devices were connected` },
    ];
  }

  /** What the end-of-run verdicts (presenceVerdicts.ts) read. */
  private facts(): PresenceFacts {
    return {
      state: this.state, settings: this.settings, episodes: this.episodes, firstAbsences: this.firstAbsences,
      current: this.current, lastEnded: this.lastEnded, observersOf: this.observersOf, seen: this.seen,
      spans: this.spans, gatewayWindows: this.gatewayWindows, lossWindows: { pushLoss: this.pushLossWindows, laneHold: this.laneHoldWindows }, attributed: this.attributed, stalls: this.stalls,
    };
  }

  private unresolvedOnline(endMs: number): void {
    for (const [user, owed] of this.owedOnline) {
      for (const o of owed) {
        const dueMs = this.onlineDue(o);
        if (dueMs + this.settings.tolMs > endMs || (this.linkEpoch.get(o.observer) ?? 0) !== o.linkEpoch) continue;
        if (this.current.get(user)?.startMs !== undefined && this.current.get(user)!.startMs < dueMs) continue;
        this.d3.hit(endMs - o.backAtMs, () => `${user} came back at ${fmt(o.backAtMs)} but device ${o.observer}, connected throughout, still saw it offline at the end (${fmt(endMs)})`);
      }
    }
  }
}
