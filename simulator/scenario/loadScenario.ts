import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { createRequire } from 'node:module';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { Ajv, type ValidateFunction } from 'ajv';
import type { Scenario } from './Scenario.ts';
import type { ScenarioError } from './ScenarioError.ts';
import { schemaErrors } from './scenarioSchemaErrors.ts';
import { normalise } from './normaliseScenario.ts';
import { semanticErrors } from './semanticErrors.ts';
import { parseNamedLists } from './parseNamedLists.ts';
import { resolveDriver } from './driverPath.ts';

// Parsing is split along its steps: YAML and overrides here, schema messages
// (scenarioSchemaErrors.ts), the typed Scenario (normaliseScenario.ts), cross-field checks
// (semanticErrors.ts). Callers import from here.
export { formatScenarioError, type ScenarioError } from './ScenarioError.ts';
export { durationMs } from './normaliseScenario.ts';

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
  /** `--driver`: replaces target.driver (a built-in name, or an absolute module path: the CLI resolves it against the working directory). */
  driver?: string;
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
  const result = parseScenario(text, basename(file, extname(file)), overrides);
  // A driver module is named relative to the scenario file (it travels with it).
  const target = result.ok ? result.scenario.target : undefined;
  if (target?.driver !== undefined) target.driver = resolveDriver(target.driver, file);
  return result;
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
  const named = parseNamedLists(input.thresholds as string[], input.bugs as string[]);
  const scenario = normalise(input, defaultName, named.lists);
  if (overrides.phones !== undefined) scalePhones(scenario, overrides.phones);
  const errors = [...semanticErrors(scenario), ...named.errors];
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
  if (overrides.driver !== undefined) paths.set('target.driver', '--driver');
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
  if (overrides.driver !== undefined) input.target = { ...((input.target as Record<string, unknown> | undefined) ?? {}), driver: overrides.driver };
  if (overrides.target !== undefined) {
    const previous = input.target as Record<string, unknown> | undefined;
    input.target = { ...(previous ?? {}), httpUrl: overrides.target };
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
