import { parseDuration } from './duration.ts';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { createRequire } from 'node:module';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { didYouMean, nearest } from './didYouMean.ts';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { builtinProfile, isBuiltinProfileName } from './builtinProfiles.ts';
import type { BackendFaultSpec, FaultSpec, NetworkProfileSpec, Scenario } from './Scenario.ts';
import { parseThreshold } from './thresholds.ts';
import { contradictoryLimits } from './contradictoryLimits.ts';
import { scenarioEventErrors, scenarioEventOf } from './scenarioEvents.ts';
import { BUG_CATALOGUE, isBugName } from '../../server/bugs/BugCatalogue.ts';
import { parseContactPoint } from '../../server/cassandra/client.ts';
import { ALL_REAL, shareableAcrossProcesses } from '../../server/backends/openBackends.ts';

/** One problem with a scenario file: the field (dotted path, `network[1].share`) and why. */
export interface ScenarioError {
  path: string;
  message: string;
  /** Where in the file, 1-based, when the field (or the nearest section holding it) is in the file; a field set by a flag has none. */
  line?: number;
  col?: number;
  /** A stable code where one applies (CONTRADICTORY_LIMITS); schema and syntax errors have none. */
  code?: string;
}

/**
 * One line per problem, compiler style, for a terminal or an editor to jump to:
 * `file:line:col: path: message` (the position when known, the path when there is one).
 */
export function formatScenarioError(file: string, error: ScenarioError): string {
  const where = error.line !== undefined ? `${file}:${error.line}:${error.col ?? 1}` : file;
  return `${where}: ${error.path ? `${error.path}: ` : ''}${error.code ? `[${error.code}] ` : ''}${error.message}`;
}

export type LoadScenarioResult = { ok: true; scenario: Scenario } | { ok: false; errors: ScenarioError[] };

/** Command-line overrides (`chatsim run --seed --phones --duration --target`). */
export interface ScenarioOverrides {
  seed?: number;
  /**
   * The seed of a run whose file sets none and that got no `--seed` (the CLI draws one and prints it
   * in the reproduce line). Without it the schema's default (1) applies, as library callers expect.
   */
  seedWhenAbsent?: number;
  /** Scales the population (users, and ramp targets) so the run has about this many phones. */
  phones?: number;
  durationMs?: number;
  /** `--heal`: replaces healMs. */
  healMs?: number;
  /** HTTP URL of a running cluster; replaces the scenario's cluster. */
  target?: string;
  /** `--inject-bug NAME` (repeatable): added to the scenario's `bugs`. */
  bugs?: string[];
  /** `--engine live|sim`: replaces the scenario's engine. */
  engine?: 'live' | 'sim';
  /** `--processes single|multi`: replaces cluster.processes (multi makes every port real unless the file chose them). */
  processes?: 'single' | 'multi';
  /** `--redis URL|local`: replaces cluster.redis. */
  redis?: string;
  /** `--cassandra HOST:PORT`: replaces cluster.cassandra. */
  cassandra?: string;
}

/** Largest scenario file read, in bytes: a scenario is a page of YAML, not a data set. */
export const SCENARIO_FILE_BYTES_MAX = 1_000_000;
/** How far shares may be from summing to 1 (they are written by hand, e.g. 0.33 + 0.33 + 0.34). */
const SHARE_SUM_TOLERANCE = 0.001;

const require = createRequire(import.meta.url);
let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (!validator) {
    const schema = require('../../scenarios/schema.json') as object;
    // useDefaults fills every default the schema declares, so the file and the schema agree on them.
    // verbose: errors carry their schema, so an unknown field can be matched against the known ones.
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
    validator = ajv.compile(schema);
  }
  return validator;
}

/** Reads, parses, validates and normalises a scenario file; every error names its field. */
export async function loadScenario(file: string, overrides: ScenarioOverrides = {}): Promise<LoadScenarioResult> {
  let text: string;
  try {
    const buffer = await readFile(file);
    if (buffer.byteLength > SCENARIO_FILE_BYTES_MAX) return fail('', `file is ${buffer.byteLength} bytes; a scenario may be at most ${SCENARIO_FILE_BYTES_MAX}`);
    text = buffer.toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail('', code === 'ENOENT' ? 'no such file (ENOENT)' : code === 'EISDIR' ? 'is a directory, not a scenario file' : `cannot read it (${code ?? (error as Error).message})`);
  }
  return parseScenario(text, basename(file, extname(file)), overrides);
}

/** As loadScenario, from text; `defaultName` names a scenario that has no `name`. */
export function parseScenario(text: string, defaultName: string, overrides: ScenarioOverrides = {}): LoadScenarioResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    return {
      ok: false,
      errors: document.errors.map((e) => ({
        path: '', message: `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        ...(e.linePos ? { line: e.linePos[0].line, col: e.linePos[0].col } : {}),
      })),
    };
  }
  const fromFlags = overriddenPaths(overrides);
  if (overrides.bugs !== undefined && overrides.bugs.length > 0 && !document.has('bugs')) fromFlags.set('bugs', '--inject-bug');
  const located = (errors: ScenarioError[]): LoadScenarioResult => ({ ok: false, errors: errors.map((e) => locate(e, document, lineCounter, fromFlags)) });
  const raw: unknown = document.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('', 'a scenario is a YAML mapping (name: ..., population: ..., load: ...)');
  const input = raw as Record<string, unknown>;
  applyRawOverrides(input, overrides);
  const validate = schemaValidator();
  if (!validate(input)) return located(schemaErrors(validate.errors ?? []));
  const scenario = normalise(input, defaultName);
  if (overrides.phones !== undefined) scalePhones(scenario, overrides.phones);
  const errors = semanticErrors(scenario);
  return errors.length > 0 ? located(errors) : { ok: true, scenario };
}

/**
 * Adds the line and column of the error's field: the key of an unknown field, the value of a
 * field that is wrong, or the nearest section that holds a missing one.
 */
function locate(error: ScenarioError, document: Document, lineCounter: LineCounter, fromFlags: ReadonlyMap<string, string>): ScenarioError {
  if (error.path === '' || error.line !== undefined) return error;
  // A value a flag set is not where the file says: name the flag instead of a line.
  for (const [path, flag] of fromFlags) {
    if (error.path === path || error.path.startsWith(`${path}.`) || error.path.startsWith(`${path}[`)) return { ...error, message: `${error.message} (set by ${flag})` };
  }
  const segments = error.path.split(/\.|\[(\d+)\]/).filter((part) => part !== undefined && part !== '');
  let node: unknown = document.contents;
  let at: YamlNode | undefined;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String((item.key as { value?: unknown } | null)?.value ?? item.key) === segment);
      if (!pair) break;
      const unknownKey = segment === segments.at(-1) && error.message.startsWith('unknown field');
      at = ((unknownKey ? pair.key : pair.value ?? pair.key) as YamlNode | null) ?? at;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item = node.items[Number(segment)];
      // Past the file's list: an item a flag added (--inject-bug).
      if (item === undefined) return { ...error, message: `${error.message} (set by a flag)` };
      at = item as YamlNode;
      node = item;
    } else {
      break;
    }
  }
  if (!at?.range) return error;
  const { line, col } = lineCounter.linePos(at.range[0]);
  return { ...error, line, col };
}

/** The fields the command line set, and by which flag (their errors name the flag, not a line of the file). */
function overriddenPaths(overrides: ScenarioOverrides): Map<string, string> {
  const paths = new Map<string, string>();
  if (overrides.seed !== undefined) paths.set('seed', '--seed');
  if (overrides.engine !== undefined) paths.set('engine', '--engine');
  if (overrides.durationMs !== undefined) paths.set('durationMs', '--duration');
  if (overrides.healMs !== undefined) paths.set('healMs', '--heal');
  if (overrides.phones !== undefined) paths.set('population.users', '--phones');
  if (overrides.processes !== undefined) paths.set('cluster.processes', '--processes');
  if (overrides.redis !== undefined) paths.set('cluster.redis', '--redis');
  if (overrides.cassandra !== undefined) paths.set('cluster.cassandra', '--cassandra');
  if (overrides.target !== undefined) paths.set('target.httpUrl', '--target');
  return paths;
}

function fail(path: string, message: string): LoadScenarioResult {
  return { ok: false, errors: [{ path, message }] };
}

function applyRawOverrides(input: Record<string, unknown>, overrides: ScenarioOverrides): void {
  if (overrides.seed !== undefined) input.seed = overrides.seed;
  else if (input.seed === undefined && overrides.seedWhenAbsent !== undefined) input.seed = overrides.seedWhenAbsent;
  if (overrides.engine !== undefined) input.engine = overrides.engine;
  if (overrides.durationMs !== undefined) input.durationMs = overrides.durationMs;
  if (overrides.healMs !== undefined) input.healMs = overrides.healMs;
  if (overrides.bugs !== undefined && overrides.bugs.length > 0) {
    const listed = Array.isArray(input.bugs) ? (input.bugs as unknown[]) : [];
    input.bugs = [...new Set([...listed, ...overrides.bugs])];
  }
  if (overrides.processes !== undefined || overrides.redis !== undefined || overrides.cassandra !== undefined) {
    const cluster = (input.cluster ?? {}) as Record<string, unknown>;
    if (typeof cluster === 'object' && cluster !== null) {
      if (overrides.processes !== undefined) cluster.processes = overrides.processes;
      if (overrides.redis !== undefined) cluster.redis = overrides.redis;
      if (overrides.cassandra !== undefined) cluster.cassandra = overrides.cassandra;
      input.cluster = cluster;
    }
  }
  if (overrides.target !== undefined) {
    const previous = input.target as Record<string, unknown> | undefined;
    input.target = { ...(previous ?? {}), httpUrl: overrides.target };
  }
}

/** ajv's JSON pointers become the dotted paths people write (`network[0].share`), one message per field. */
function schemaErrors(errors: ErrorObject[]): ScenarioError[] {
  const byPath = new Map<string, ScenarioError>();
  for (const error of errors) {
    if (error.keyword === 'if' || error.keyword === 'anyOf' || error.keyword === 'oneOf') continue;
    let path = pointerToPath(error.instancePath);
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'additionalProperties') {
      const name = (error.params as { additionalProperty: string }).additionalProperty;
      const atTop = path === '';
      path = path ? `${path}.${name}` : name;
      const known = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const hint = didYouMean(name, known);
      const flag = atTop ? flagOnlyHint(name) : undefined;
      message = hint ? `unknown field${hint}`
        : flag ? `unknown field${flag.name === name ? ':' : `; did you mean "${flag.name}"?`} ${flag.why}`
          : `unknown field (this section takes ${known.length > 0 ? known.join(', ') : 'the fields of scenarios/schema.json'})`;
    } else if (error.keyword === 'required') {
      const name = (error.params as { missingProperty: string }).missingProperty;
      path = path ? `${path}.${name}` : name;
      message = 'is required';
    } else if (error.keyword === 'enum') {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}${typeof error.data === 'string' ? didYouMean(error.data, allowed.filter((v): v is string => typeof v === 'string')) : ''}`;
    } else if (error.keyword === 'pattern' && /ms\|s\|m\|h/.test((error.params as { pattern: string }).pattern)) {
      message = 'must be a duration: integer ms or a string like "500ms", "30s", "2m"';
    }
    // Keep the first message per field: later ones are usually the other branches of an anyOf.
    if (!byPath.has(path)) byPath.set(path, { path, message });
  }
  // A branch error on a field ("must be string") says less than the errors inside it ("stallMs: is required").
  const all = [...byPath.values()];
  return all.filter((e) => !all.some((other) => other !== e && e.path !== '' && (other.path.startsWith(`${e.path}.`) || other.path.startsWith(`${e.path}[`))));
}

/**
 * Settings people put at the top of a scenario that are command-line flags, not fields: an
 * unknown top-level key equal or near to one is told where the setting lives.
 */
const FLAG_ONLY_SETTINGS: Readonly<Record<string, string>> = {
  phones: 'A scenario has no phones field: population.users and population.devices make the phones; --phones N on the command line scales them.',
  workers: 'Phone worker threads are not part of a scenario: use --workers N on the command line.',
  dir: 'Where results go is not part of a scenario: use --dir DIR on the command line.',
};

function flagOnlyHint(name: string): { name: string; why: string } | undefined {
  const exact = FLAG_ONLY_SETTINGS[name];
  if (exact) return { name, why: exact };
  const near = nearest(name, Object.keys(FLAG_ONLY_SETTINGS));
  return near === undefined ? undefined : { name: near, why: FLAG_ONLY_SETTINGS[near]! };
}

function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  return pointer.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

/** Durations as written ("30s" or 30000) to ms (simulator/scenario/duration.ts). The schema has already checked the syntax. */
export function durationMs(value: unknown): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.ms;
}

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- validated by the schema above

function normalise(input: Raw, defaultName: string): Scenario {
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
      model: load?.model ?? 'closed',
      ramp,
      arrival: ((load?.arrival ?? []) as Raw[]).map((s) => ({ durationMs: durationMs(s.durationMs), ratePerSec: s.ratePerSec as number })),
      messagesPerMinute: load?.messagesPerMinute ?? 6,
      foregroundShare: load?.foregroundShare ?? 0.5,
      typingShare: load?.typingShare ?? 0.3,
      bodyBytes: { ...(load?.bodyBytes ?? { min: 10, max: 200 }) },
    },
    network: (input.network as Raw[]).map((n) => ({ profile: profileOf(n.profile), share: n.share as number })),
    faults: (input.faults as Raw[]).map(faultOf),
    events: ((input.events ?? []) as Raw[]).map((e) => scenarioEventOf(e, durationMs)),
    durationMs: durationMs(input.durationMs),
    healMs: durationMs(input.healMs),
    thresholds: input.thresholds as string[],
    bugs: input.bugs as string[],
    sim: simOf(input.sim as Raw),
    clocks: { phoneSkewMs: (input.clocks as Raw | undefined)?.phoneSkewMs ?? 0, chatServerSkewMs: (input.clocks as Raw | undefined)?.chatServerSkewMs ?? 0 },
  };
  if (input.target) scenario.target = { httpUrl: String(input.target.httpUrl).replace(/\/+$/, ''), ...(input.target.adminToken ? { adminToken: input.target.adminToken as string } : {}) };
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
 * `--phones N`: scales users (and every ramp target) so the expected number of phones is N,
 * keeping the device mix, chats per user and group sizes (clamped to the users there are).
 */
function scalePhones(scenario: Scenario, phones: number): void {
  const meanDevices = scenario.population.devices.reduce((sum, d) => sum + d.devices * d.share, 0);
  const before = Math.max(1, Math.round(scenario.population.users * meanDevices));
  scenario.population.users = Math.max(2, Math.round(phones / Math.max(meanDevices, 1e-9)));
  const factor = phones / before;
  for (const stage of scenario.load.ramp) stage.target = Math.round(stage.target * factor);
  const size = scenario.population.groups.size;
  size.max = Math.min(size.max, scenario.population.users);
  size.min = Math.min(size.min, size.max);
}

/** What a schema cannot say: sums, orderings, references between sections. */
function semanticErrors(s: Scenario): ScenarioError[] {
  const errors: ScenarioError[] = [];
  const sumOf = (shares: number[]): number => shares.reduce((a, b) => a + b, 0);
  const networkSum = sumOf(s.network.map((n) => n.share));
  if (Math.abs(networkSum - 1) > SHARE_SUM_TOLERANCE) errors.push({ path: 'network', message: `shares must sum to 1, they sum to ${round(networkSum)}` });
  const deviceSum = sumOf(s.population.devices.map((d) => d.share));
  if (Math.abs(deviceSum - 1) > SHARE_SUM_TOLERANCE) errors.push({ path: 'population.devices', message: `shares must sum to 1, they sum to ${round(deviceSum)}` });
  const { size } = s.population.groups;
  if (size.min > size.max) errors.push({ path: 'population.groups.size', message: `min (${size.min}) is above max (${size.max})` });
  if (s.population.groups.count > 0 && size.max > s.population.users) errors.push({ path: 'population.groups.size.max', message: `groups of up to ${size.max} need at least that many users; population.users is ${s.population.users}` });
  const limit = s.cluster.limits.groupMembersMax;
  if (limit !== undefined && size.max > limit) errors.push({ path: 'population.groups.size.max', message: `above cluster.limits.groupMembersMax (${limit})` });
  if (s.load.bodyBytes.min > s.load.bodyBytes.max) errors.push({ path: 'load.bodyBytes', message: `min (${s.load.bodyBytes.min}) is above max (${s.load.bodyBytes.max})` });
  if (s.load.model === 'closed' && s.load.ramp.length === 0) errors.push({ path: 'load.ramp', message: 'the closed model needs at least one ramp stage' });
  if (s.load.model === 'open' && s.load.arrival.length === 0) errors.push({ path: 'load.arrival', message: 'the open model needs at least one arrival stage' });
  s.network.forEach((n, i) => {
    for (const key of ['stallMs', 'offlineMs'] as const) {
      if (n.profile[key].min > n.profile[key].max) errors.push({ path: `network[${i}].profile.${key}`, message: `min (${n.profile[key].min}) is above max (${n.profile[key].max})` });
    }
  });
  s.faults.forEach((f, i) => {
    if (f.atMs >= s.durationMs) errors.push({ path: `faults[${i}].atMs`, message: `${f.atMs} ms is not before the end of the load (durationMs ${s.durationMs} ms)` });
    if ('gateway' in f && f.gateway !== undefined && !s.target && f.gateway >= s.cluster.gateways) errors.push({ path: `faults[${i}].gateway`, message: `gateway ${f.gateway} does not exist: cluster.gateways is ${s.cluster.gateways} (indexes from 0)` });
    if (f.kind === 'lose-broker-channel' && f.channel === 'presence' && f.gateway !== undefined) errors.push({ path: `faults[${i}].gateway`, message: 'only channel gateway names a gateway: the presence channel is one for the whole cluster' });
    if (f.kind === 'drain-gateway' && !s.target && s.cluster.gateways === 1 && f.forMs === undefined) {
      errors.push({ path: `faults[${i}].forMs`, message: 'draining the only gateway for good leaves phones nowhere to connect: give forMs, or add a gateway' });
    }
    if (f.kind === 'clock-jump') errors.push(...clockJumpErrors(s, f, i));
    if ('chatServer' in f && f.chatServer !== undefined && !s.target && f.chatServer >= s.cluster.chatServers) errors.push({ path: `faults[${i}].chatServer`, message: `chat server ${f.chatServer} does not exist: cluster.chatServers is ${s.cluster.chatServers} (indexes from 0)` });
  });
  if ((s.clocks?.chatServerSkewMs ?? 0) > 0 && s.target) {
    errors.push({ path: 'clocks.chatServerSkewMs', code: 'CLOCK_NOT_SETTABLE', message: 'the chat servers of a --target are not the harness\'s: their clocks cannot be skewed' });
  }
  for (const [port, range] of Object.entries(s.sim.portLatencyMs)) {
    if (range.min > range.max) errors.push({ path: `sim.portLatencyMs.${port}`, message: `min (${range.min}) is above max (${range.max})` });
  }
  s.thresholds.forEach((t, i) => {
    const parsed = parseThreshold(t);
    if (!parsed.ok) errors.push({ path: `thresholds[${i}]`, message: parsed.message });
  });
  s.bugs.forEach((bug, i) => {
    if (!isBugName(bug)) errors.push({ path: `bugs[${i}]`, message: `unknown bug "${bug}"${didYouMean(bug, BUG_CATALOGUE.map((b) => b.name)) || '; `chatsim bugs` lists them'}` });
  });
  if (s.durationMs <= 0) errors.push({ path: 'durationMs', message: 'must be above 0' });
  if (!parseContactPoint(s.cluster.cassandra)) errors.push({ path: 'cluster.cassandra', message: `must be HOST:PORT with a port in 1..65535, got ${s.cluster.cassandra}` });
  if (s.cluster.processes === 'multi' && !shareableAcrossProcesses(s.cluster.implementations)) {
    errors.push({ path: 'cluster.implementations', message: 'a multi-process cluster shares every port between processes: leave implementations out, or make every one redis (store: cassandra)' });
  }
  errors.push(...contradictoryLimits(s));
  errors.push(...scenarioEventErrors(s));
  return errors;
}

/** A clock jump must step (byMs not 0), name only what its target has, and reach a clock the harness can set. */
function clockJumpErrors(s: Scenario, f: Extract<Scenario['faults'][number], { kind: 'clock-jump' }>, i: number): ScenarioError[] {
  const errors: ScenarioError[] = [];
  if (f.byMs === 0) errors.push({ path: `faults[${i}].byMs`, message: 'a jump of 0 ms does nothing' });
  if (f.target === 'phones' && f.chatServer !== undefined) errors.push({ path: `faults[${i}].chatServer`, message: 'only target chat-servers names a chat server' });
  if (f.target === 'chat-servers' && f.share !== undefined) errors.push({ path: `faults[${i}].share`, message: 'only target phones takes a share' });
  if (f.target === 'chat-servers' && s.target) errors.push({ path: `faults[${i}].target`, code: 'CLOCK_NOT_SETTABLE', message: 'the chat servers of a --target are not the harness\'s: their clocks cannot be stepped' });
  return errors;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
