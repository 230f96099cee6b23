// One source for each default (issue 16): scenarios/schema.json states the defaults people read,
// the TypeScript tables are what the code uses; they must be equal, and every other reader of a
// default (serve's flags, the checkers' fallbacks, the loader) must take it from those tables.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CLUSTER_DEFAULTS } from '../../server/clusterDefaults.ts';
import { DEFAULT_LIMITS } from '../../server/protocol/limits.ts';
import { DEFAULT_PHONE_OPTIONS } from '../../simulator/phone/PhoneOptions.ts';
import { settingsOf } from '../../simulator/check/common.ts';
import { CLOCK_DEFAULTS, LOAD_DEFAULTS } from '../../simulator/scenario/normaliseScenario.ts';
import { durationMs, parseScenario } from '../../simulator/scenario/loadScenario.ts';
import { registerServe } from '../../bin/commands/serve.ts';

type SchemaNode = { default?: unknown; properties?: Record<string, SchemaNode> };
const schema = JSON.parse(readFileSync(new URL('../../scenarios/schema.json', import.meta.url), 'utf8')) as SchemaNode;
const section = (name: string): Record<string, SchemaNode> => schema.properties![name]!.properties!;
const defaultsOf = (fields: Record<string, SchemaNode>, names: string[]): Record<string, unknown> =>
  Object.fromEntries(names.map((name) => [name, fields[name]!.default]));

describe('scenario defaults have one source', () => {
  it('cluster.* in schema.json equals CLUSTER_DEFAULTS (presence debounce: DEFAULT_LIMITS)', () => {
    const cluster = section('cluster');
    expect(defaultsOf(cluster, ['gateways', 'chatServers', 'processes', 'redis', 'cassandra'])).toEqual({
      gateways: CLUSTER_DEFAULTS.gateways, chatServers: CLUSTER_DEFAULTS.chatServers, processes: CLUSTER_DEFAULTS.processes,
      redis: CLUSTER_DEFAULTS.redis, cassandra: CLUSTER_DEFAULTS.cassandra,
    });
    expect(durationMs(cluster.presenceDebounceMs!.default)).toBe(CLUSTER_DEFAULTS.presenceDebounceMs);
    expect(CLUSTER_DEFAULTS.presenceDebounceMs).toBe(DEFAULT_LIMITS.presenceDebounceMs);
  });

  it('load.* and clocks.* in schema.json equal the loader\'s tables for a section left out', () => {
    const load = section('load');
    expect(defaultsOf(load, Object.keys(LOAD_DEFAULTS))).toEqual({ ...LOAD_DEFAULTS, bodyBytes: { ...LOAD_DEFAULTS.bodyBytes } });
    expect(defaultsOf(section('clocks'), Object.keys(CLOCK_DEFAULTS))).toEqual({ ...CLOCK_DEFAULTS });
  });

  it('a scenario that says nothing loads with those defaults', () => {
    const loaded = parseScenario('population: { users: 10 }\n', 'bare');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const { cluster, load, clocks } = loaded.scenario;
    expect({ gateways: cluster.gateways, chatServers: cluster.chatServers, processes: cluster.processes, redis: cluster.redis, cassandra: cluster.cassandra, presenceDebounceMs: cluster.presenceDebounceMs })
      .toEqual({ ...CLUSTER_DEFAULTS });
    expect({ model: load.model, messagesPerMinute: load.messagesPerMinute, foregroundShare: load.foregroundShare, typingShare: load.typingShare, bodyBytes: load.bodyBytes })
      .toEqual({ ...LOAD_DEFAULTS, bodyBytes: { ...LOAD_DEFAULTS.bodyBytes } });
    expect(clocks).toEqual({ ...CLOCK_DEFAULTS });
  });

  it('`chatsim serve` takes its cluster shape from CLUSTER_DEFAULTS', () => {
    const program = new Command();
    registerServe(program, () => {});
    const serve = program.commands.find((c) => c.name() === 'serve')!;
    const defaultOf = (flag: string): unknown => serve.options.find((o) => o.long === flag)!.defaultValue;
    expect(defaultOf('--gateways')).toBe(CLUSTER_DEFAULTS.gateways);
    expect(defaultOf('--chat-servers')).toBe(CLUSTER_DEFAULTS.chatServers);
  });

  it('the checkers fall back to the server\'s presence debounce and TTL and the phone\'s read debounce', () => {
    const settings = settingsOf({ chatMembers: new Map(), devicesOfUser: new Map() });
    expect(settings.debounceMs).toBe(DEFAULT_LIMITS.presenceDebounceMs);
    expect(settings.ttlMs).toBe(DEFAULT_LIMITS.presenceTtlMs);
    expect(settings.readDebounceMs).toBe(DEFAULT_PHONE_OPTIONS.readDebounceMs);
  });
});
