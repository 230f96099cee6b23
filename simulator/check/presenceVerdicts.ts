/**
 * The end-of-run presence verdicts D2 (offline does show), D4 (presence converges) and D6 (no
 * flap amplification), judged on what PresenceFamily (presence.ts) collected during the run.
 */
import { Finding, fmt, unknown, type Settings } from './common.ts';
import type { PropertyResult } from './PropertyResult.ts';
import type { RunState } from './runState.ts';
import type { StallWindows } from './stallWindows.ts';

/** A span in which every device of a user was really disconnected (`endMs` Infinity: still down). */
export interface Episode {
  user: string;
  startMs: number;
  endMs: number;
  /** Connection attempts of the user's devices that went out during the episode: [device, t]. */
  dials?: Array<[string, number]>;
  /** The device whose connection ended the episode. */
  endedBy?: string;
  /**
   * The connection that ended the episode closed at the instant it opened on the phone: its
   * close travelled with its open (a stall held both), so the server had already given it up
   * (swarm seed 4108168: dialled at 8.1 s inside a 6.4 s stall, heartbeat timeout at the
   * server, open and close heard at 14.234 s). To the server it was a return and a departure.
   */
  closedOnArrival?: boolean;
}

/**
 * The attempts of an episode that reached the server but never became a connection on the
 * phone (an offline window or a half-open link cut in before the hello arrived): all but the
 * one that ended the episode, which is the last attempt of the device that came back, unless
 * that one was closed on arrival.
 */
export function ghostDials(ep: Episode): number[] {
  const dials = ep.dials ?? [];
  if (ep.closedOnArrival) return dials.map(([, t]) => t);
  let ending = -1;
  if (ep.endedBy !== undefined) for (let i = dials.length - 1; i >= 0 && ending < 0; i--) if (dials[i]![0] === ep.endedBy) ending = i;
  return dials.filter((_, i) => i !== ending).map(([, t]) => t);
}

/**
 * When the device that ended `episode` dialled the connection that ended it (its last attempt
 * before the end; the end itself if none was seen): the server may announce the return from
 * then on, before the phone sees its connection open.
 */
export function returnDialMs(ep: Episode): number {
  const dials = ep.dials ?? [];
  for (let i = dials.length - 1; i >= 0; i--) if (dials[i]![0] === ep.endedBy && dials[i]![1] <= ep.endMs) return dials[i]![1];
  return ep.endMs;
}

/**
 * The ended episode a push heard late, after `fromMs`, may be the offline of: the latest long
 * one if any, else the latest (an observer whose stalls reach far back may hold several long
 * ones: the online owed is the latest return's; swarm seed 4602415, where the first absence,
 * long by definition, was chosen over an 8.9 s one that ended 0.9 s before). One with a known start, or the absence before the user's first connection if
 * it holds an attempt that never became a connection (ghostDials): the server may have accepted
 * it (and told friends online) while the phone never completed it, and its heartbeat timeout
 * and debounce then broadcast offline, which a friend may hear just after the user's first real connection (swarm seed
 * 4104180: u21/d1 dialled at 0.473 s, up only at 6.699 s; u31/d1 heard the offline and the
 * online behind it at 6.701 s).
 */
export function latePushEpisode(recentEnded: readonly Episode[], fromMs: number, minMs: number): Episode | undefined {
  const mayHaveBroadcast = (episode: Episode): boolean => Number.isFinite(episode.startMs) || ghostDials(episode).length > 0;
  const candidates = recentEnded.filter((episode) => mayHaveBroadcast(episode) && episode.endMs >= fromMs);
  return candidates.filter((episode) => episode.endMs - episode.startMs >= minMs).at(-1) ?? candidates.at(-1);
}

/** The ended episode a query answer asked at `fromMs` may be a snapshot of: a long one if any, else the latest. */
export function snapshotEpisode(recentEnded: readonly Episode[], fromMs: number, minMs: number): Episode | undefined {
  const candidates = recentEnded.filter((episode) => episode.endMs >= fromMs);
  return candidates.find((episode) => episode.endMs - episode.startMs >= minMs) ?? candidates.at(-1);
}

/** A fault's window, by fault kind (end Infinity while on). */
export interface FaultWindow {
  kind: string;
  startMs: number;
  endMs: number;
}

/** Fault windows that delay a presence change's arrival (PUSH_LOSS_FAULT, LANE_HOLD_FAULT in presence.ts). */
export interface LossWindows {
  /** Presence pushes cannot arrive: a gateway paused or cut off, broker loss, a presence store or target restart. */
  pushLoss: readonly FaultWindow[];
  /** Chat server lanes held (store outage or slow store, a chat server paused, killed or restarted). */
  laneHold: readonly FaultWindow[];
}

/**
 * A presence change's due time moved to the propagation bound after the end of any window in
 * which pushes cannot arrive that overlaps it (from `fromMs`, the change, to the due time).
 * Inside a broker-loss window pushes, presence answers and the marks that reveal a lost push
 * are all dropped with the window's share, and a partitioned or paused gateway passes nothing
 * on; what is owed is the repair once the window ends (the presence push numbers,
 * Gateway.onPresenceStamp). A lost push is repaired by a query, answered in the observer's
 * lane behind its other frames: a window holding chat server lanes delays that answer to its
 * end (swarm seed 4008467: a send held by a store outage). `repairedByQuery` says the change is
 * owed by a query from the start (D3's racedReturn, swarm seed 4022936). Windows may chain (one
 * opens before the due another moved), so the due moves until nothing does. D3 and D2 both
 * count so (swarm seed 4109752: u4's offline lost behind a partition, its query held by a store
 * outage, then dropped by total broker loss; the answer came 1.9 s after the loss ended).
 */
export function dueAfterLossWindows(w: LossWindows, fromMs: number, dueMs: number, propagationMs: number, repairedByQuery: boolean): number {
  let due = dueMs;
  let byQuery = repairedByQuery;
  const inReach = (x: FaultWindow): boolean => x.startMs <= due && x.endMs >= fromMs;
  const overlaps = (x: FaultWindow): boolean => inReach(x) && x.endMs + propagationMs > due;
  for (let moved = true; moved;) {
    moved = false;
    for (const x of w.pushLoss) {
      // A push lost in a window that ends early enough is still repaired by a query, which a
      // lane hold after it delays (swarm seed 5100223: an offline lost behind a partition that
      // ended 5.8 s before the due, its query answered behind a slow store 0.5 s after it).
      if (inReach(x)) byQuery = true;
      if (!overlaps(x)) continue;
      due = x.endMs + propagationMs;
      moved = true;
    }
    if (!byQuery) break;
    for (const x of w.laneHold) {
      if (!overlaps(x)) continue;
      due = x.endMs + propagationMs;
      moved = true;
    }
  }
  return due;
}

/** What PresenceFamily collected, read by the end-of-run verdicts. */
export interface PresenceFacts {
  state: RunState;
  settings: Settings;
  /** Ended or ongoing all-devices-down spans with a known start. */
  episodes: readonly Episode[];
  /** The spans before each user's first connection. */
  firstAbsences: readonly Episode[];
  /** The users whose episode is on at the end (absent: connected). */
  current: ReadonlyMap<string, Episode>;
  lastEnded: ReadonlyMap<string, Episode>;
  observersOf: ReadonlyMap<string, ReadonlySet<string>>;
  /** observer|user -> seen changes [t, online]. */
  seen: ReadonlyMap<string, Array<[number, boolean]>>;
  /** observer device -> its connected spans. */
  spans: ReadonlyMap<string, Array<[number, number]>>;
  gatewayWindows: readonly FaultWindow[];
  /** Windows in which pushes cannot arrive, and those that hold chat server lanes (dueAfterLossWindows). */
  lossWindows: LossWindows;
  /** observer|user -> offline notices attributed to a fault (D7). */
  attributed: ReadonlyMap<string, number>;
  /** Each device's network stalls (a push to an observer waits them out). */
  stalls: StallWindows;
}

/**
 * D2: an episode longer than debounce + TTL + propagation shows offline to each friend
 * connected throughout. The bound counts from the last time the server heard from one of
 * the user's devices: the episode's start, or later a connection attempt that reached the
 * server but never the phone (a ghost). The server holds such a connection like any other
 * until its heartbeat timeout, and cannot tell it from a phone that connected and went into
 * a tunnel at once. (10,000 phones, 10 min: u8027 offline from 209.163 s to 320.134 s, and
 * friends' queries still answered online at 318 s. Seed 2 at 2,026 phones: u1389 offline
 * from 307.057 s; at 397.197 s an attempt went out and an offline window cut it 16 ms later,
 * before the open reached the phone; friends were told online at 397.2 s, it came back at
 * 442.549 s.)
 */
export function offlineShows(f: PresenceFacts, endMs: number): PropertyResult {
  const finding = new Finding();
  const boundMs = f.settings.debounceMs + f.settings.ttlMs + f.settings.propagationMs;
  let qualifying = 0;
  for (const ep of f.episodes) {
    const ghosts = ghostDials(ep);
    const lastGhostMs = ghosts.length > 0 ? Math.max(...ghosts) : -Infinity;
    const dueMs = dueAfterLossWindows(f.lossWindows, ep.startMs, gatewayFaultDue(f, ep.startMs, Math.max(ep.startMs, lastGhostMs) + boundMs, boundMs), f.settings.propagationMs, false);
    if (Math.min(ep.endMs, endMs) < dueMs) continue;
    qualifying++;
    for (const observer of f.observersOf.get(ep.user) ?? []) {
      // The push goes out within the propagation bound before the due time; the observer's network stalls from then hold it.
      const observerDueMs = f.stalls.extend(observer, dueMs - f.settings.propagationMs, dueMs);
      if (observerDueMs > dueMs && Math.min(ep.endMs, endMs) < observerDueMs) continue;
      if (!connectedThroughout(f, observer, ep.startMs, observerDueMs)) continue;
      const list = f.seen.get(`${observer}|${ep.user}`) ?? [];
      const before = stateAt(list, ep.startMs);
      if (before === false) continue;
      if (list.some(([t, online]) => !online && t > ep.startMs && t <= observerDueMs)) continue;
      const stalled = observerDueMs > dueMs ? ` (${fmt(dueMs)} and ${Math.round(observerDueMs - dueMs)} ms of its network stalls)` : '';
      finding.hit(1, () => `${ep.user}'s devices were all disconnected from ${fmt(ep.startMs)}${ep.endMs === Infinity ? ' to the end' : ` to ${fmt(ep.endMs)}`}${ghosts.length > 0 ? ` (last connection attempt that never reached the phone at ${fmt(lastGhostMs)})` : ''}, but device ${observer}, connected throughout, was not shown ${ep.user} offline by ${fmt(observerDueMs)}${stalled}`);
    }
  }
  if (qualifying === 0) return unknown('D2', 'offline does show', `no all-devices-down episode lasted the ${boundMs} ms (debounce + TTL + propagation) needed to judge it`);
  return finding.result('D2', 'offline does show', `${qualifying} qualifying episode(s)`);
}

/**
 * D2's due time moved by gateway faults over the episode, as D7 attributes offline notices to
 * them. A paused gateway holds the frames the user's device sent before it went and handles
 * them when it wakes: to the server the device was last heard at the pause's end, and its
 * heartbeat timeout, the debounce and the push count from there (FA2). A partitioned gateway
 * can tell its phones nothing until the heal: an observer on it is owed the offline within
 * the propagation bound of the heal (the resync, and a presence re-read with it). The
 * checker does not know which gateway a device is on, so any such window counts.
 */
function gatewayFaultDue(f: PresenceFacts, startMs: number, dueMs: number, boundMs: number): number {
  let due = dueMs;
  for (const w of f.gatewayWindows) {
    if (w.startMs > due || w.endMs < startMs) continue;
    due = Math.max(due, w.endMs + (w.kind === 'pause-gateway' ? boundMs : f.settings.propagationMs));
  }
  return due;
}

function connectedThroughout(f: PresenceFacts, p: string, fromMs: number, toMs: number): boolean {
  return (f.spans.get(p) ?? []).some(([a, b]) => a <= fromMs && b >= toMs);
}

/** D4: at the end, each connected observer's view of each user it follows matches the truth. */
export function converges(f: PresenceFacts, endMs: number): PropertyResult {
  const finding = new Finding();
  for (const [key, list] of f.seen) {
    const observer = key.slice(0, key.lastIndexOf('|'));
    const user = key.slice(observer.length + 1);
    if (!f.state.isConnected(observer)) continue;
    const shown = list[list.length - 1]!;
    const down = f.current.get(user);
    const trulyOnline = !down;
    if (shown[1] === trulyOnline) continue;
    if (trulyOnline) {
      const backMs = f.lastEnded.get(user)?.endMs ?? 0;
      if (endMs - backMs <= f.settings.propagationMs) continue;
      finding.hit(endMs - backMs, () => `at the end device ${observer} still showed ${user} offline (since ${fmt(shown[0])}), though ${user} had been connected without a break since ${fmt(backMs)}`);
    } else {
      if (endMs - down.startMs <= f.settings.debounceMs + f.settings.ttlMs + f.settings.propagationMs) continue;
      finding.hit(endMs - down.startMs, () => `at the end device ${observer} still showed ${user} online, though all of ${user}'s devices were gone from ${fmt(down.startMs)}`);
    }
  }
  return finding.result('D4', 'presence converges');
}

/**
 * D6: offline transitions an observer saw for a user <= the user's qualifying episodes (+
 * attributed ones). A ghost attempt (see offlineShows) inside a qualifying episode is, to the
 * server, a return and another departure: friends are told online and, after the heartbeat
 * timeout and the debounce, offline again, so each may add one. So may a ghost before the
 * user's first connection (friends who asked were told offline, then online and offline).
 */
export function amplification(f: PresenceFacts): PropertyResult {
  const finding = new Finding();
  const minMs = f.settings.debounceMs - f.settings.tolMs;
  const qualifying = new Map<string, number>();
  const allow = (user: string, n: number): void => { if (n > 0) qualifying.set(user, (qualifying.get(user) ?? 0) + n); };
  for (const ep of f.episodes) if (Math.min(ep.endMs, f.state.endMs) - ep.startMs >= minMs) allow(ep.user, 1 + ghostDials(ep).length);
  for (const ep of f.firstAbsences) allow(ep.user, ghostDials(ep).length);
  for (const [key, list] of f.seen) {
    const user = key.slice(key.lastIndexOf('|') + 1);
    const offline = list.filter(([, online], i) => !online && i > 0).length;
    const allowed = (qualifying.get(user) ?? 0) + (f.attributed.get(key) ?? 0);
    if (offline > allowed) finding.hit(offline - allowed, () => `device ${key.slice(0, key.lastIndexOf('|'))} saw ${user} go offline ${offline} times, but ${user} had only ${allowed} all-devices-down episode(s) of at least ${minMs} ms (offline changes at ${list.filter(([, o]) => !o).slice(0, 4).map(([t]) => fmt(t)).join(', ')})`);
  }
  return finding.result('D6', 'no flap amplification');
}

/** The state shown just before `tMs`, or undefined if nothing was shown yet. */
function stateAt(list: Array<[number, boolean]>, tMs: number): boolean | undefined {
  let shown: boolean | undefined;
  for (const [t, online] of list) {
    if (t > tMs) break;
    shown = online;
  }
  return shown;
}
