import { parseDuration } from './duration.ts';
import { builtinProfile, isBuiltinProfileName } from './builtinProfiles.ts';
import { EJABBERD_HTTP_DEFAULT_URL, EJABBERD_XMPP_DEFAULT_URL, type BackendFaultSpec, type FaultSpec, type NetworkProfileSpec, type Scenario } from './Scenario.ts';
import { scenarioEventOf } from './scenarioEvents.ts';
import { ALL_REAL } from '../../server/backends/openBackends.ts';
import type { NamedLists } from './parseNamedLists.ts';

/**
 * Defaults of the sections a file may leave out whole (the schema's useDefaults fills a field's
 * default only inside a section that is there). Equal to scenarios/schema.json's, proven by
 * test/scenario/schemaDefaults.test.ts.
 */
export const LOAD_DEFAULTS = Object.freeze({ model: 'closed' as const, messagesPerMinute: 6, foregroundShare: 0.5, typingShare: 0.3, bodyBytes: Object.freeze({ min: 10, max: 200 }) });
export const CLOCK_DEFAULTS = Object.freeze({ phoneSkewMs: 0, chatServerSkewMs: 0 });

/** Durations as written ("30s" or 30000) to ms (simulator/scenario/duration.ts). The schema has already checked the syntax. */
export function durationMs(value: unknown): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.ms;
}

export type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- validated by the schema above

/** A schema-valid scenario (defaults filled in) as the typed Scenario: durations in ms, profiles resolved, thresholds and bugs as parseNamedLists made them. */
export function normalise(input: Raw, defaultName: string, lists: NamedLists): Scenario {
  const population = input.population as Raw;
  const load = input.load as Raw | undefined;
  const cluster = input.cluster as Raw;
  const devices = population.devices as Array<{ devices: number; share: number }>;
  const meanDevices = devices.reduce((sum, d) => sum + d.devices * d.share, 0);
  const expectedPhones = Math.round(population.users * meanDevices);
  const ramp = (load?.ramp as Raw[] | undefined)?.map((s) => ({ durationMs: durationMs(s.durationMs), target: s.target as number }))
    ?? [{ durationMs: 10_000, target: expectedPhones }];
  const limits: Record<string, number> = {};
  for (const [key, value] of Object.entries((cluster.limits ?? {}) as Raw)) limits[key] = key.endsWith('Ms') ? durationMs(value) : (value as number);
  const scenario: Scenario = {
    name: (input.name as string | undefined) ?? sanitizeName(defaultName),
    description: input.description as string,
    seed: input.seed as number,
    engine: input.engine as 'live' | 'sim',
    cluster: {
      gateways: cluster.gateways, chatServers: cluster.chatServers,
      processes: cluster.processes,
      implementations: cluster.processes === 'multi' && Object.values(cluster.implementations as Raw).every((v) => v === 'memory')
        ? { ...ALL_REAL } // multi-process with the default (memory) choice: every port real
        : { ...cluster.implementations },
      redis: cluster.redis, cassandra: cluster.cassandra,
      presenceDebounceMs: durationMs(cluster.presenceDebounceMs),
      limits,
    },
    population: {
      users: population.users, devices,
      directChatsPerUser: population.directChatsPerUser,
      groups: { count: population.groups.count, size: { ...population.groups.size } },
      friendsPerUser: population.friendsPerUser,
      tokenSyncShare: population.tokenSyncShare ?? 0,
    },
    load: {
      model: load?.model ?? LOAD_DEFAULTS.model,
      ramp,
      arrival: ((load?.arrival ?? []) as Raw[]).map((s) => ({ durationMs: durationMs(s.durationMs), ratePerSec: s.ratePerSec as number })),
      messagesPerMinute: load?.messagesPerMinute ?? LOAD_DEFAULTS.messagesPerMinute,
      foregroundShare: load?.foregroundShare ?? LOAD_DEFAULTS.foregroundShare,
      typingShare: load?.typingShare ?? LOAD_DEFAULTS.typingShare,
      bodyBytes: { ...(load?.bodyBytes ?? LOAD_DEFAULTS.bodyBytes) },
    },
    network: (input.network as Raw[]).map((n) => ({ profile: profileOf(n.profile), share: n.share as number })),
    faults: (input.faults as Raw[]).map(faultOf),
    events: ((input.events ?? []) as Raw[]).map((e) => scenarioEventOf(e, durationMs)),
    durationMs: durationMs(input.durationMs),
    healMs: durationMs(input.healMs),
    thresholds: lists.thresholds,
    bugs: lists.bugs,
    sim: simOf(input.sim as Raw),
    clocks: { phoneSkewMs: (input.clocks as Raw | undefined)?.phoneSkewMs ?? CLOCK_DEFAULTS.phoneSkewMs, chatServerSkewMs: (input.clocks as Raw | undefined)?.chatServerSkewMs ?? CLOCK_DEFAULTS.chatServerSkewMs },
  };
  if (input.target) scenario.target = targetOf(input.target as Raw);
  return scenario;
}

function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'scenario';
}

function profileOf(profile: unknown): NetworkProfileSpec {
  if (typeof profile === 'string' && isBuiltinProfileName(profile)) return builtinProfile(profile);
  const p = profile as Raw;
  const range = (r: Raw | undefined): { min: number; max: number } => ({ min: durationMs(r?.min ?? 0), max: durationMs(r?.max ?? 0) });
  return {
    name: p.name ?? 'custom',
    latencyMs: { base: durationMs(p.latencyMs?.base ?? 0), jitter: durationMs(p.latencyMs?.jitter ?? 0) },
    bandwidthBytesPerSec: p.bandwidthBytesPerSec ?? 0,
    stallsPerMinute: p.stallsPerMinute ?? 0,
    stallMs: range(p.stallMs),
    halfOpenPerMinute: p.halfOpenPerMinute ?? 0,
    resetsPerMinute: p.resetsPerMinute ?? 0,
    offlinePerMinute: p.offlinePerMinute ?? 0,
    offlineMs: range(p.offlineMs),
    switchesPerMinute: p.switchesPerMinute ?? 0,
  };
}

function simOf(sim: Raw): Scenario['sim'] {
  const range = (r: Raw): { min: number; max: number } => ({ min: durationMs(r.min), max: durationMs(r.max) });
  const ports = sim.portLatencyMs as Raw;
  return {
    clockSkewMs: durationMs(sim.clockSkewMs),
    portLatencyMs: {
      store: range(ports.store), broker: range(ports.broker), queue: range(ports.queue),
      presence: range(ports.presence), directory: range(ports.directory),
    },
  };
}

function faultOf(f: Raw): FaultSpec {
  const atMs = durationMs(f.atMs);
  switch (f.kind as FaultSpec['kind']) {
    case 'restart-chat-servers': return { atMs, kind: 'restart-chat-servers', crash: f.crash as boolean };
    case 'crash-gateway': return { atMs, kind: 'crash-gateway', gateway: f.gateway as number };
    case 'pause-gateway': return { atMs, kind: 'pause-gateway', gateway: f.gateway as number, forMs: durationMs(f.forMs) };
    case 'partition-gateway': return { atMs, kind: 'partition-gateway', gateway: f.gateway as number, forMs: durationMs(f.forMs) };
    case 'pause-chat-server': return { atMs, kind: 'pause-chat-server', chatServer: f.chatServer as number, forMs: durationMs(f.forMs) };
    case 'kill-chat-server': return { atMs, kind: 'kill-chat-server', chatServer: f.chatServer as number };
    case 'lose-broker-messages': return { atMs, kind: 'lose-broker-messages', share: f.share as number, forMs: durationMs(f.forMs) };
    case 'restart-target': return { atMs, kind: 'restart-target', forMs: f.forMs === undefined ? 0 : durationMs(f.forMs) };
    case 'clock-jump': return {
      atMs, kind: 'clock-jump', target: f.target as 'phones' | 'chat-servers', byMs: f.byMs as number,
      ...(f.share === undefined ? {} : { share: f.share as number }), ...(f.chatServer === undefined ? {} : { chatServer: f.chatServer as number }),
    };
    default: return backendFaultOf(f, atMs);
  }
}

function backendFaultOf(f: Raw, atMs: number): FaultSpec {
  const forMs = f.forMs === undefined ? 0 : durationMs(f.forMs);
  switch (f.kind as BackendFaultSpec['kind']) {
    case 'store-outage': return { atMs, kind: 'store-outage', forMs };
    case 'slow-store': return { atMs, kind: 'slow-store', latencyMs: durationMs(f.latencyMs), forMs };
    case 'restart-presence-store': return { atMs, kind: 'restart-presence-store', forMs };
    case 'kill-gateway': return { atMs, kind: 'kill-gateway', gateway: f.gateway as number, forMs };
    case 'drain-gateway': return { atMs, kind: 'drain-gateway', gateway: f.gateway as number, ...(f.forMs === undefined ? {} : { forMs }) };
    case 'duplicate-broker-messages': return { atMs, kind: 'duplicate-broker-messages', share: f.share as number, forMs };
    case 'reorder-broker-messages': return { atMs, kind: 'reorder-broker-messages', share: f.share as number, forMs };
    case 'lose-broker-channel': return {
      atMs, kind: 'lose-broker-channel', channel: f.channel as 'presence' | 'gateway', share: f.share as number, forMs,
      ...(f.gateway === undefined ? {} : { gateway: f.gateway as number }),
    };
  }
}

/**
 * An ejabberd target defaults to scripts/ejabberd.sh's HTTP port (its EJABBERD_HTTP_PORT where
 * set, as the script reads it: the API and XMPP over WebSocket at /ws, whose links are shaped)
 * and the xmpp driver; a chatsim one has no defaults.
 */
function targetOf(target: Raw): NonNullable<Scenario['target']> {
  const ejabberd = target.kind === 'ejabberd';
  const httpPort = process.env.EJABBERD_HTTP_PORT;
  const httpDefault = httpPort ? `http://127.0.0.1:${httpPort}` : EJABBERD_HTTP_DEFAULT_URL;
  const xmppDefault = httpPort ? `ws://127.0.0.1:${httpPort}/ws` : EJABBERD_XMPP_DEFAULT_URL;
  const httpUrl = target.httpUrl ?? (ejabberd ? httpDefault : '');
  const driver = target.driver ?? (ejabberd ? 'xmpp' : undefined);
  return {
    ...(ejabberd ? { kind: 'ejabberd' as const, xmppUrl: (target.xmppUrl as string | undefined) ?? xmppDefault } : {}),
    httpUrl: String(httpUrl).replace(/\/+$/, ''),
    ...(target.adminToken ? { adminToken: target.adminToken as string } : {}),
    ...(driver ? { driver: driver as string } : {}),
    ...(target.driverOptions ? { driverOptions: target.driverOptions as Record<string, unknown> } : {}),
  };
}
