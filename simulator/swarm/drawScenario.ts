import { stringify } from 'yaml';
import type { BugName } from '../../server/bugs/BugCatalogue.ts';
import { DEFAULT_LIMITS } from '../../server/protocol/limits.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { Random } from '../../server/ports/Random.ts';
import { parseScenario } from '../scenario/loadScenario.ts';
import type { Scenario } from '../scenario/Scenario.ts';
import { between, pick, roundTo, windowMs } from '../faults/drawRandom.ts';
import { FAULT_KINDS, PICKED_FAULT_KINDS } from '../faults/faultKinds.ts';

/** Bounds of what a swarm seed may draw; every field is named with its unit. */
export interface SwarmBounds {
  usersMin: number;
  usersMax: number;
  durationMsMin: number;
  durationMsMax: number;
  /** Heal after the load (keeps one seed to a few seconds of CPU). */
  healMs: number;
  faultsMax: number;
  /** Longest fault window (pauses, partitions, broker loss); every window also ends before the heal. */
  faultWindowMsMax: number;
}

export const DEFAULT_SWARM_BOUNDS: Readonly<SwarmBounds> = Object.freeze({
  usersMin: 4,
  usersMax: 40,
  durationMsMin: 10_000,
  durationMsMax: 30_000,
  healMs: 20_000,
  faultsMax: 3,
  faultWindowMsMax: 10_000,
});

export interface DrawnScenario {
  scenario: Scenario;
  /** The same scenario as YAML, loadable by `chatsim run`. */
  yaml: string;
}

/** What every feature's draw may read: the shape drawn so far. */
export interface DrawContext {
  seed: number;
  bounds: SwarmBounds;
  users: number;
  gateways: number;
  chatServers: number;
  durationMs: number;
}

type Raw = Record<string, unknown>;

/**
 * One feature of the scenario language and how a seed draws it. Each feature draws from its
 * own fork of the seed (named after the feature), so adding a feature, or changing one, leaves
 * every other feature's draw of every seed as it was. `apply` writes into the raw scenario
 * (the YAML shape) and may read what earlier features wrote.
 */
export interface FeatureDraw {
  name: string;
  apply(r: Random, raw: Raw, ctx: DrawContext): void;
}

/**
 * Limits the cluster must keep in pairs (the loader refuses contradictory ones). The presence
 * TTL must outlive the heartbeat timeout by the refresh throttle (a third of the TTL) too: a
 * connection may be silent up to the heartbeat timeout and still be held, and its entry was
 * refreshed up to TTL/3 before that, so TTL >= 1.5 x timeout keeps every held connection in
 * presence. The swarm draws TTL as 2, 3 or 5 heartbeat timeouts.
 */
const clusterDraw: FeatureDraw = {
  name: 'cluster',
  apply(r, raw, ctx) {
    const heartbeatIntervalMs = pick(r, [1000, 2000]);
    const heartbeatTimeoutMs = heartbeatIntervalMs * pick(r, [3, 4]);
    raw.cluster = {
      gateways: ctx.gateways, chatServers: ctx.chatServers,
      presenceDebounceMs: pick(r, [2000, 5000, 8000]),
      limits: { heartbeatIntervalMs, heartbeatTimeoutMs, presenceTtlMs: heartbeatTimeoutMs * pick(r, [2, 3, 5]) },
    };
  },
};

/** Paged sync: small per-answer limits, so a reconnect after a busy absence takes several rounds. */
const pagedSyncDraw: FeatureDraw = {
  name: 'paged-sync',
  apply(r, raw) {
    const limits = (raw.cluster as Raw).limits as Raw;
    const messages = pick(r, [DEFAULT_LIMITS.syncMessagesMax, DEFAULT_LIMITS.syncMessagesMax, DEFAULT_LIMITS.syncMessagesMax, DEFAULT_LIMITS.syncMessagesMax, 20, 5]);
    if (messages !== DEFAULT_LIMITS.syncMessagesMax) limits.syncMessagesMax = messages;
    const chats = pick(r, [DEFAULT_LIMITS.syncChatsMax, DEFAULT_LIMITS.syncChatsMax, DEFAULT_LIMITS.syncChatsMax, 4, 2]);
    if (chats !== DEFAULT_LIMITS.syncChatsMax) limits.syncChatsMax = chats;
  },
};

/** Users with one, two or three devices. */
const devicesDraw: FeatureDraw = {
  name: 'devices',
  apply(r, raw) {
    const mix = pick(r, ['one', 'some-two', 'half-two', 'up-to-three'] as const);
    const devices = {
      'one': [{ devices: 1, share: 1 }],
      'some-two': [{ devices: 1, share: 0.8 }, { devices: 2, share: 0.2 }],
      'half-two': [{ devices: 1, share: 0.5 }, { devices: 2, share: 0.5 }],
      'up-to-three': [{ devices: 1, share: 0.5 }, { devices: 2, share: 0.3 }, { devices: 3, share: 0.2 }],
    }[mix];
    (raw.population as Raw).devices = devices;
  },
};

/**
 * Chats: direct chats and groups, sometimes with a small member limit and groups filled up to
 * it (the limit is a cluster limit the loader checks group sizes against).
 */
const chatsDraw: FeatureDraw = {
  name: 'chats',
  apply(r, raw, ctx) {
    const population = raw.population as Raw;
    population.directChatsPerUser = between(r, 0, 3);
    let sizeMax = Math.min(ctx.users, between(r, 3, 12));
    if (r.nextFloat() < 0.3) {
      const limit = pick(r, [4, 8, 16]);
      ((raw.cluster as Raw).limits as Raw).groupMembersMax = limit;
      sizeMax = Math.min(ctx.users, limit);
    }
    const count = between(r, 0, 4);
    population.groups = { count, size: { min: Math.min(3, sizeMax), max: sizeMax } };
    // Degenerate draws still make a valid scenario: two users always get at least one chat.
    if (population.directChatsPerUser === 0 && count === 0) population.directChatsPerUser = 1;
  },
};

const friendsDraw: FeatureDraw = {
  name: 'friends',
  apply(r, raw) {
    (raw.population as Raw).friendsPerUser = between(r, 1, 4);
  },
};

/** Closed model (a ramp of connected phones) or open model (Poisson arrivals). */
const loadDraw: FeatureDraw = {
  name: 'load',
  apply(r, raw, ctx) {
    const devices = (raw.population as Raw).devices as Array<{ devices: number; share: number }>;
    const phones = Math.round(ctx.users * devices.reduce((sum, d) => sum + d.devices * d.share, 0));
    const rampMs = between(r, 500, 3000);
    const open = r.nextFloat() < 0.2;
    raw.load = {
      model: open ? 'open' : 'closed',
      ramp: [{ durationMs: rampMs, target: phones }],
      ...(open ? { arrival: [{ durationMs: rampMs, ratePerSec: Math.max(1, Math.round((phones * 1000) / rampMs)) }] } : {}),
      messagesPerMinute: pick(r, [5, 10, 20, 40]),
      foregroundShare: pick(r, [0.3, 0.6, 0.9]),
      typingShare: pick(r, [0, 0.3, 0.6]),
      bodyBytes: { min: 5, max: 80 },
    };
  },
};

const networkDraw: FeatureDraw = {
  name: 'network',
  apply(r, raw) {
    const custom = {
      name: 'swarm-flaky',
      latencyMs: { base: pick(r, [5, 30, 80]), jitter: pick(r, [0, 20, 60]) },
      bandwidthBytesPerSec: pick(r, [0, 200_000]),
      stallsPerMinute: pick(r, [0, 2, 6]),
      stallMs: { min: 200, max: 3000 },
      halfOpenPerMinute: pick(r, [0, 0.5, 1, 2]),
      resetsPerMinute: pick(r, [0, 2, 6, 10]),
      offlinePerMinute: pick(r, [0, 0.5, 1]),
      offlineMs: { min: 1000, max: 8000 },
      switchesPerMinute: pick(r, [0, 1, 2]),
    };
    const mix = pick(r, ['custom', 'custom+wifi', 'builtin']);
    raw.network = mix === 'custom' ? [{ profile: custom, share: 1 }]
      : mix === 'custom+wifi' ? [{ profile: custom, share: 0.5 }, { profile: 'wifi', share: 0.5 }]
        : [{ profile: 'flaky-3g', share: 0.4 }, { profile: 'subway-commuter', share: 0.3 }, { profile: 'good-4g', share: 0.3 }];
  },
};

/** Backend latencies of the simulation engine, and the chat servers' clock skew. */
const simDraw: FeatureDraw = {
  name: 'sim',
  apply(r, raw) {
    const fast = { min: 0, max: 1 };
    raw.sim = {
      clockSkewMs: pick(r, [0, 25]),
      portLatencyMs: { store: { min: 1, max: pick(r, [4, 20]) }, broker: fast, queue: fast, presence: { min: 0, max: pick(r, [1, 5]) }, directory: fast },
    };
  },
};

/** How devices catch up: by watermarks only, or some or all by sync token (so C2 is judged). */
const syncModeDraw: FeatureDraw = {
  name: 'sync-mode',
  apply(r, raw) {
    const share = pick(r, [0, 0, 0.3, 0.5, 1]);
    if (share > 0) (raw.population as Raw).tokenSyncShare = share;
  },
};

/** Wall clocks off by fixed skews: phones by up to an hour, chat servers by up to 5 s. */
const clocksDraw: FeatureDraw = {
  name: 'clocks',
  apply(r, raw) {
    const phoneSkewMs = pick(r, [0, 0, 5_000, 120_000, 3_600_000]);
    const chatServerSkewMs = pick(r, [0, 0, 500, 5_000]);
    if (phoneSkewMs > 0 || chatServerSkewMs > 0) raw.clocks = { ...(phoneSkewMs > 0 ? { phoneSkewMs } : {}), ...(chatServerSkewMs > 0 ? { chatServerSkewMs } : {}) };
  },
};

/** 0..faultsMax faults of the kinds picked from one list (faultKinds.ts), each window ending at least 1 s before the heal. */
const faultsDraw: FeatureDraw = {
  name: 'faults',
  apply(r, raw, ctx) {
    const faults: Raw[] = [];
    const count = between(r, 0, ctx.bounds.faultsMax);
    for (let i = 0; i < count; i++) {
      const atMs = roundTo(between(r, 1000, ctx.durationMs - 3000), 100);
      const windowMsMax = Math.min(ctx.bounds.faultWindowMsMax, ctx.durationMs - 1000 - atMs);
      const fault = pick(r, PICKED_FAULT_KINDS).draw(r, atMs, windowMsMax, ctx);
      if (fault) faults.push(fault);
    }
    raw.faults = faults.sort((a, b) => (a.atMs as number) - (b.atMs as number));
  },
};

/**
 * Each fault kind drawn from a fork of its own (faultKinds.ts `drawnBy`), in one seed in eight:
 * kinds the swarm learnt to draw later (restart-presence-store, once the presence store had an
 * epoch), so every seed drawn before keeps its scenario. The window ends before the heal.
 */
const ownForkFaultDraws: FeatureDraw[] = Object.entries(FAULT_KINDS).filter(([, kind]) => kind.drawnBy === 'own-fork').map(([name, kind]) => ({
  name,
  apply(r, raw, ctx) {
    if (r.nextInt(8) !== 0) return;
    const atMs = roundTo(between(r, 1000, ctx.durationMs - 3000), 100);
    const windowMsMax = Math.min(ctx.bounds.faultWindowMsMax, ctx.durationMs - 1000 - atMs);
    const fault = kind.draw(r, atMs, windowMsMax, ctx);
    if (fault) raw.faults = [...(raw.faults as Raw[]), fault].sort((a, b) => (a.atMs as number) - (b.atMs as number));
  },
}));

/**
 * Scenario events (scenarioEvents.ts): membership changes, device lifecycle and correlated
 * load, 0..3 per seed, each window ending before the heal. Targets are left to the run (drawn
 * from its seed among those an event can apply to), so every draw is valid for any population.
 */
const eventsDraw: FeatureDraw = {
  name: 'events',
  apply(r, raw, ctx) {
    const groups = ((raw.population as Raw).groups as { count: number }).count;
    const profiles = (raw.network as Array<{ profile: string | { name: string } }>).map((n) => (typeof n.profile === 'string' ? n.profile : n.profile.name));
    const kinds = [
      ...(groups > 0 ? ['join-group', 'leave-group', 'kick-member', 'hot-chat'] : []),
      'add-device', 'logout-device', 'reinstall-device', 'tunnel', 'burst',
    ];
    const events: Raw[] = [];
    const count = pick(r, [0, 0, 1, 2, 3]);
    for (let i = 0; i < count; i++) {
      const atMs = roundTo(between(r, 1000, ctx.durationMs - 3000), 100);
      const windowMsMax = Math.min(8000, ctx.durationMs - 1000 - atMs);
      const kind = pick(r, kinds);
      if (kind === 'tunnel') events.push({ atMs, kind, profile: pick(r, profiles), forMs: windowMs(r, windowMsMax) });
      else if (kind === 'burst') events.push({ atMs, kind, messages: between(r, 10, 100), phones: between(r, 2, 10), withinMs: roundTo(between(r, 200, 2000), 100) });
      else if (kind === 'hot-chat') events.push({ atMs, kind, share: pick(r, [0.5, 0.8, 0.9]), forMs: windowMs(r, windowMsMax) });
      else events.push({ atMs, kind });
    }
    raw.events = events.sort((a, b) => (a.atMs as number) - (b.atMs as number));
  },
};

/**
 * Every feature the swarm draws, in order (later ones may read what earlier ones wrote). A new
 * feature of the language adds one entry here; its draw uses its own fork of the seed.
 */
export const FEATURE_DRAWS: readonly FeatureDraw[] = [
  clusterDraw, pagedSyncDraw, devicesDraw, chatsDraw, friendsDraw, loadDraw, networkDraw, simDraw, faultsDraw,
  eventsDraw, syncModeDraw, clocksDraw, ...ownForkFaultDraws,
];

/** What one page of a paged sync costs on the swarm's links, at most (a request and its answer). */
const SYNC_PAGE_ROUND_TRIP_MS = 500;

/**
 * The heal gives a device that was away for the whole load the time to page through every send
 * of the run, `syncMessagesMax` messages a round trip, and never less than `bounds.healMs`.
 * Swarm seed 5302990: 853 sends, 5 a page, a device back 4.5 s before the heal; 20 s of heal
 * was not enough to page them, and A5 took the device still paging for a lost write. Reads the
 * draws, consumes no randomness: every other draw of every seed is as it was.
 */
function healMsFor(raw: Raw, ctx: DrawContext): number {
  const limits = ((raw.cluster as Raw).limits ?? {}) as Raw;
  const pageMessages = (limits.syncMessagesMax as number | undefined) ?? DEFAULT_LIMITS.syncMessagesMax;
  const load = raw.load as { ramp: Array<{ target: number }>; messagesPerMinute: number };
  const phones = Math.max(...load.ramp.map((step) => step.target));
  const bursts = ((raw.events ?? []) as Array<{ kind: string; messages?: number }>).reduce((sum, e) => sum + (e.kind === 'burst' ? e.messages ?? 0 : 0), 0);
  const sends = (phones * load.messagesPerMinute * ctx.durationMs) / 60_000 + bursts;
  const pagingMs = Math.ceil(sends / pageMessages) * SYNC_PAGE_ROUND_TRIP_MS;
  return Math.max(ctx.bounds.healMs, roundTo(pagingMs + 5000, 1000));
}

/**
 * The scenario of one swarm seed, in the manner of TigerBeetle's VOPR: every option drawn from
 * the seed (population, load, link profiles, cluster shape and limits, faults), so each seed
 * explores a different corner, and the same seed always draws the same scenario. Bugs are off
 * unless given. The run itself uses the same seed for everything inside it.
 */
export function drawScenario(seed: number, bugs: readonly BugName[] = [], bounds: SwarmBounds = DEFAULT_SWARM_BOUNDS): DrawnScenario {
  const root = new SeededRandom(seed).fork('swarm');
  const shape = root.fork('shape');
  const ctx: DrawContext = {
    seed, bounds,
    users: between(shape, bounds.usersMin, bounds.usersMax),
    gateways: between(shape, 1, 3),
    chatServers: between(shape, 1, 3),
    durationMs: roundTo(between(shape, bounds.durationMsMin, bounds.durationMsMax), 1000),
  };
  const raw: Raw = {
    name: `swarm-${seed}`,
    description: `chatsim sim: the scenario drawn for seed ${seed}`,
    seed,
    engine: 'sim',
    population: { users: ctx.users },
  };
  for (const feature of FEATURE_DRAWS) feature.apply(root.fork(feature.name), raw, ctx);
  Object.assign(raw, { durationMs: ctx.durationMs, healMs: healMsFor(raw, ctx), bugs: [...bugs] });
  const yaml = `# Drawn by chatsim sim for seed ${seed}.\n${stringify(raw)}`;
  const parsed = parseScenario(yaml, `swarm-${seed}`);
  // A draw that fails validation is a bug in this file, not in the system under test.
  if (!parsed.ok) throw new Error(`swarm seed ${seed} drew an invalid scenario: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return { scenario: parsed.scenario, yaml };
}
