import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROFILE_NAMES } from '../../simulator/scenario/builtinProfiles.ts';
import { loadScenario, parseScenario } from '../../simulator/scenario/loadScenario.ts';

const scenariosDir = new URL('../../scenarios/', import.meta.url).pathname;
const tiny = readFileSync(new URL('../fixtures/tiny.yaml', import.meta.url), 'utf8');

function errorsOf(text: string): Array<{ path: string; message: string }> {
  const result = parseScenario(text, 'test');
  if (result.ok) throw new Error('expected the scenario to be rejected');
  // Where in the file is tested on its own below.
  return result.errors.map(({ line: _line, col: _col, ...rest }) => rest);
}

describe('loadScenario', () => {
  it('loads a valid file with every default filled in and durations in ms', () => {
    const result = parseScenario('population: { users: 10 }\n', 'my file');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const s = result.scenario;
    expect(s.name).toBe('my-file');
    expect(s.seed).toBe(1);
    expect(s.engine).toBe('live');
    expect(s.cluster).toMatchObject({ gateways: 2, chatServers: 2, presenceDebounceMs: 30_000 });
    expect(s.durationMs).toBe(60_000);
    expect(s.healMs).toBe(15_000);
    expect(s.load.ramp).toEqual([{ durationMs: 10_000, target: 10 }]);
    expect(s.network[0]!.profile.name).toBe('good-4g');
    expect(s.population.devices).toEqual([{ devices: 1, share: 1 }]);
  });

  it('names the field and the reason for a wrong type', () => {
    const errors = errorsOf(tiny.replace('friendsPerUser: 3', 'friendsPerUser: many'));
    expect(errors).toContainEqual({ path: 'population.friendsPerUser', message: expect.stringContaining('number') });
  });

  it('names unknown fields, missing fields, bad enums and bad durations', () => {
    expect(errorsOf(tiny.replace('friendsPerUser: 3', 'friendsPerUser: 3\n  frends: 2'))).toContainEqual({ path: 'population.frends', message: expect.stringContaining('unknown field') });
    expect(errorsOf('name: x\n')).toContainEqual({ path: 'population', message: 'is required' });
    expect(errorsOf(tiny.replace('model: closed', 'model: sideways'))).toContainEqual({ path: 'load.model', message: expect.stringContaining('"closed"') });
    expect(errorsOf(tiny.replace('durationMs: 4s', 'durationMs: soon'))).toContainEqual({ path: 'durationMs', message: expect.stringContaining('duration') });
    expect(errorsOf(tiny.replace('{ profile: good-4g, share: 1 }', '{ profile: 5g-dreams, share: 1 }')).map((e) => e.path)).toContain('network[0].profile');
  });

  it('rejects what the schema cannot see: share sums, fault targets, thresholds, ranges', () => {
    expect(errorsOf(tiny.replace('{ profile: good-4g, share: 1 }', '{ profile: good-4g, share: 0.5 }'))).toContainEqual({ path: 'network', message: expect.stringContaining('sum to 1') });
    expect(errorsOf(tiny.replace('thresholds:', 'faults:\n  - { atMs: 1s, kind: crash-gateway, gateway: 7 }\nthresholds:'))).toContainEqual({ path: 'faults[0].gateway', message: expect.stringContaining('does not exist') });
    expect(errorsOf(tiny.replace('thresholds:', 'faults:\n  - { atMs: 1m, kind: crash-gateway, gateway: 0 }\nthresholds:'))).toContainEqual({ path: 'faults[0].atMs', message: expect.stringContaining('before the end') });
    expect(errorsOf(tiny.replace('faults:', 'faults:').replace('thresholds:', 'faults:\n  - { atMs: 1s, kind: pause-gateway, gateway: 0 }\nthresholds:')).map((e) => e.path)).toContain('faults[0].forMs');
    expect(errorsOf(tiny.replace('"sendToAck p(99) < 10s"', '"sendToAck < 10s"'))).toContainEqual({ path: 'thresholds[0]', message: expect.stringContaining('histogram') });
    expect(errorsOf(tiny.replace('size: { min: 3, max: 6 }', 'size: { min: 8, max: 6 }'))).toContainEqual({ path: 'population.groups.size', message: expect.stringContaining('above max') });
  });

  it('loads every backend fault kind with its fields, and names the field of a bad one', () => {
    const faults = [
      '{ atMs: 1s, kind: store-outage, forMs: 2s }',
      '{ atMs: 1s, kind: slow-store, latencyMs: 300ms, forMs: 2s }',
      '{ atMs: 1s, kind: restart-presence-store, forMs: 0 }',
      '{ atMs: 1s, kind: kill-gateway, gateway: 0, forMs: 500ms }',
      '{ atMs: 1s, kind: drain-gateway, gateway: 0, forMs: 1s }',
      '{ atMs: 1s, kind: duplicate-broker-messages, share: 0.5, forMs: 2s }',
      '{ atMs: 1s, kind: reorder-broker-messages, share: 0.5, forMs: 2s }',
      '{ atMs: 1s, kind: lose-broker-channel, channel: presence, share: 1, forMs: 2s }',
      '{ atMs: 1s, kind: lose-broker-channel, channel: gateway, gateway: 0, share: 0.2, forMs: 2s }',
    ];
    const result = parseScenario(tiny.replace('thresholds:', `faults:\n${faults.map((f) => `  - ${f}`).join('\n')}\nthresholds:`), 'test');
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.scenario.faults).toEqual([
      { atMs: 1000, kind: 'store-outage', forMs: 2000 },
      { atMs: 1000, kind: 'slow-store', latencyMs: 300, forMs: 2000 },
      { atMs: 1000, kind: 'restart-presence-store', forMs: 0 },
      { atMs: 1000, kind: 'kill-gateway', gateway: 0, forMs: 500 },
      { atMs: 1000, kind: 'drain-gateway', gateway: 0, forMs: 1000 },
      { atMs: 1000, kind: 'duplicate-broker-messages', share: 0.5, forMs: 2000 },
      { atMs: 1000, kind: 'reorder-broker-messages', share: 0.5, forMs: 2000 },
      { atMs: 1000, kind: 'lose-broker-channel', channel: 'presence', share: 1, forMs: 2000 },
      { atMs: 1000, kind: 'lose-broker-channel', channel: 'gateway', gateway: 0, share: 0.2, forMs: 2000 },
    ]);
    const withFault = (f: string): Array<{ path: string; message: string }> => errorsOf(tiny.replace('thresholds:', `faults:\n  - ${f}\nthresholds:`));
    expect(withFault('{ atMs: 1s, kind: slow-store, forMs: 2s }').map((e) => e.path)).toContain('faults[0].latencyMs');
    expect(withFault('{ atMs: 1s, kind: store-outage }').map((e) => e.path)).toContain('faults[0].forMs');
    expect(withFault('{ atMs: 1s, kind: lose-broker-channel, channel: gateway, share: 1, forMs: 1s }').map((e) => e.path)).toContain('faults[0].gateway');
    expect(withFault('{ atMs: 1s, kind: lose-broker-channel, channel: presence, gateway: 0, share: 1, forMs: 1s }')).toContainEqual({ path: 'faults[0].gateway', message: expect.stringContaining('only channel gateway') });
    expect(errorsOf(`${tiny.replace('thresholds:', 'faults:\n  - { atMs: 1s, kind: drain-gateway, gateway: 0 }\nthresholds:')}cluster: { gateways: 1 }\n`)).toContainEqual({ path: 'faults[0].forMs', message: expect.stringContaining('only gateway') });
    expect(withFault('{ atMs: 1s, kind: kill-gateway, gateway: 3, forMs: 1s }')).toContainEqual({ path: 'faults[0].gateway', message: expect.stringContaining('does not exist') });
    expect(withFault('{ atMs: 1s, kind: store-outage, forMs: 1s, latency: 5 }')).toContainEqual({ path: 'faults[0].latency', message: expect.stringContaining('unknown field') });
  });

  it('reports YAML syntax errors and unreadable files without throwing', async () => {
    expect(errorsOf('population: { users: 10\n')[0]!.message).toMatch(/^YAML/);
    expect(errorsOf('- a\n- b\n')[0]!.message).toContain('mapping');
    const missing = await loadScenario('/nonexistent/scenario.yaml');
    expect(missing).toMatchObject({ ok: false, errors: [{ path: '', message: expect.stringContaining('ENOENT') }] });
  });

  it('applies overrides: seed, duration, target, and --phones scales users and ramps', () => {
    const result = parseScenario(tiny, 'tiny', { seed: 99, durationMs: 1234, target: 'http://127.0.0.1:8080/', phones: 300 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const s = result.scenario;
    expect(s.seed).toBe(99);
    expect(s.durationMs).toBe(1234);
    expect(s.target).toEqual({ httpUrl: 'http://127.0.0.1:8080' });
    // 25 users x 1.2 devices = 30 phones; 300 phones = 250 users, ramp 40 -> 400 (targets above the phones simply cap).
    expect(s.population.users).toBe(250);
    expect(s.load.ramp[0]!.target).toBe(400);
  });

  it('a run without --seed and without a seed in the file takes the drawn seed; a file or flag seed wins', () => {
    const seedOf = (text: string, overrides: { seed?: number; seedWhenAbsent?: number }): number => {
      const result = parseScenario(text, 'drawn', overrides);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      return result.scenario.seed;
    };
    expect(seedOf('population: { users: 10 }\n', { seedWhenAbsent: 424242 })).toBe(424242);
    expect(seedOf('seed: 7\npopulation: { users: 10 }\n', { seedWhenAbsent: 424242 })).toBe(7);
    expect(seedOf('seed: 7\npopulation: { users: 10 }\n', { seed: 9, seedWhenAbsent: 424242 })).toBe(9);
    expect(seedOf('population: { users: 10 }\n', {})).toBe(1);
  });

  it('the schema lists exactly the builtin profile names', () => {
    const schema = JSON.parse(readFileSync(join(scenariosDir, 'schema.json'), 'utf8'));
    expect([...schema.definitions.builtinProfileName.enum].sort()).toEqual([...BUILTIN_PROFILE_NAMES].sort());
  });

  it('every shipped scenario loads', async () => {
    const files = readdirSync(scenariosDir).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['flaky-mobile.yaml', 'group-fanout.yaml', 'reconnect-storm.yaml', 'rolling-restart.yaml', 'presence-flap.yaml']));
    for (const file of files) {
      const result = await loadScenario(join(scenariosDir, file));
      expect(result.ok ? [] : result.errors, file).toEqual([]);
    }
  });
});

describe('bugs in scenarios', () => {
  it('accepts catalogue names, adds --inject-bug ones, and names an unknown bug', () => {
    const result = parseScenario(tiny + 'bugs: [no-dedupe]\n', 'tiny', { bugs: ['sync-off-by-one', 'no-dedupe'] });
    expect(result.ok && result.scenario.bugs).toEqual(['no-dedupe', 'sync-off-by-one']);
    expect(errorsOf(tiny + 'bugs: [make-it-fast]\n')).toContainEqual({ path: 'bugs[0]', message: expect.stringContaining('chatsim bugs') });
  });
});

describe('the sim section and the simulation faults', () => {
  const withFaults = (faults: string): string => tiny.replace('thresholds:', `faults:\n${faults}\nthresholds:`);

  it('fills the sim defaults (skew 25 ms, store 1-4 ms, other ports 0-1 ms) and takes overrides as durations', () => {
    const defaults = parseScenario(tiny, 'tiny');
    expect(defaults.ok && defaults.scenario.sim).toEqual({
      clockSkewMs: 25,
      portLatencyMs: { store: { min: 1, max: 4 }, broker: { min: 0, max: 1 }, queue: { min: 0, max: 1 }, presence: { min: 0, max: 1 }, directory: { min: 0, max: 1 } },
    });
    const custom = parseScenario(`${tiny}sim:\n  clockSkewMs: 2s\n  portLatencyMs:\n    store: { min: 5ms, max: 20 }\n`, 'tiny');
    expect(custom.ok && custom.scenario.sim.clockSkewMs).toBe(2000);
    expect(custom.ok && custom.scenario.sim.portLatencyMs.store).toEqual({ min: 5, max: 20 });
    expect(custom.ok && custom.scenario.sim.portLatencyMs.broker).toEqual({ min: 0, max: 1 });
  });

  it('rejects unknown sim fields, a port range with min above max, and a negative skew', () => {
    expect(errorsOf(`${tiny}sim:\n  portLatencyMs:\n    cache: { min: 1, max: 2 }\n`)).toContainEqual({ path: 'sim.portLatencyMs.cache', message: expect.stringContaining('unknown field') });
    expect(errorsOf(`${tiny}sim:\n  portLatencyMs:\n    queue: { min: 9, max: 2 }\n`)).toContainEqual({ path: 'sim.portLatencyMs.queue', message: expect.stringContaining('above max') });
    expect(errorsOf(`${tiny}sim:\n  clockSkewMs: -5\n`).map((e) => e.path)).toContain('sim.clockSkewMs');
  });

  it('loads pause-chat-server and lose-broker-messages', () => {
    const result = parseScenario(withFaults('  - { atMs: 1s, kind: pause-chat-server, chatServer: 1, forMs: 2s }\n  - { atMs: 500ms, kind: lose-broker-messages, share: 0.25, forMs: 1s }'), 'tiny');
    expect(result.ok && result.scenario.faults).toEqual([
      { atMs: 1000, kind: 'pause-chat-server', chatServer: 1, forMs: 2000 },
      { atMs: 500, kind: 'lose-broker-messages', share: 0.25, forMs: 1000 },
    ]);
  });

  it('names the missing field, a chat server that does not exist, and a share outside (0, 1]', () => {
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: pause-chat-server, forMs: 2s }')).map((e) => e.path)).toContain('faults[0].chatServer');
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: pause-chat-server, chatServer: 0 }')).map((e) => e.path)).toContain('faults[0].forMs');
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: pause-chat-server, chatServer: 2, forMs: 1s }'))).toContainEqual({ path: 'faults[0].chatServer', message: expect.stringContaining('does not exist') });
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: lose-broker-messages, forMs: 1s }')).map((e) => e.path)).toContain('faults[0].share');
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: lose-broker-messages, share: 0.5 }')).map((e) => e.path)).toContain('faults[0].forMs');
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: lose-broker-messages, share: 0, forMs: 1s }')).map((e) => e.path)).toContain('faults[0].share');
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: lose-broker-messages, share: 1.5, forMs: 1s }')).map((e) => e.path)).toContain('faults[0].share');
  });

  it('cluster.processes multi makes every port real unless the file chose them, and takes --processes/--redis/--cassandra', () => {
    const single = parseScenario('population: { users: 10 }\n', 't');
    expect(single.ok && single.scenario.cluster).toMatchObject({
      processes: 'single', redis: 'local', cassandra: '127.0.0.1:9042',
      implementations: { broker: 'memory', queue: 'memory', presence: 'memory', directory: 'memory', store: 'memory' },
    });
    const multi = parseScenario('cluster: { processes: multi }\npopulation: { users: 10 }\n', 't');
    expect(multi.ok && multi.scenario.cluster.implementations).toEqual({ broker: 'redis', queue: 'redis', presence: 'redis', directory: 'redis', store: 'cassandra' });
    const overridden = parseScenario('population: { users: 10 }\n', 't', { processes: 'multi', redis: 'redis://127.0.0.1:6390', cassandra: '127.0.0.2:9043' });
    expect(overridden.ok && overridden.scenario.cluster).toMatchObject({ processes: 'multi', redis: 'redis://127.0.0.1:6390', cassandra: '127.0.0.2:9043', implementations: { store: 'cassandra' } });
  });

  it('refuses a multi-process cluster with a memory port and malformed addresses; takes store bugs on Cassandra', () => {
    expect(errorsOf('cluster: { processes: multi, implementations: { broker: redis } }\npopulation: { users: 10 }\n')).toContainEqual({ path: 'cluster.implementations', message: expect.stringContaining('multi-process') });
    // Store bugs wrap any store (server/bugs/), Cassandra's too.
    expect(parseScenario('cluster: { processes: multi }\nbugs: [no-dedupe, read-rewrites-message]\npopulation: { users: 10 }\n', 't').ok).toBe(true);
    expect(errorsOf('cluster: { redis: "http://x" }\npopulation: { users: 10 }\n').map((e) => e.path)).toContain('cluster.redis');
    expect(errorsOf('cluster: { cassandra: "host:port:x" }\npopulation: { users: 10 }\n').map((e) => e.path)).toContain('cluster.cassandra');
    expect(errorsOf('cluster: { processes: many }\npopulation: { users: 10 }\n').map((e) => e.path)).toContain('cluster.processes');
  });

  it('loads kill-chat-server and names a missing or unknown slot', () => {
    const result = parseScenario(withFaults('  - { atMs: 1s, kind: kill-chat-server, chatServer: 1 }'), 'tiny');
    expect(result.ok && result.scenario.faults).toEqual([{ atMs: 1000, kind: 'kill-chat-server', chatServer: 1 }]);
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: kill-chat-server }')).map((e) => e.path)).toContain('faults[0].chatServer');
    expect(errorsOf(withFaults('  - { atMs: 1s, kind: kill-chat-server, chatServer: 2 }'))).toContainEqual({ path: 'faults[0].chatServer', message: expect.stringContaining('does not exist') });
  });
});

describe('contradictory limits (issue 14, R6)', () => {
  const withLimits = (limits: string, extra = ''): Array<{ path: string; message: string; code?: string }> =>
    errorsOf(`population: { users: 10 }\ncluster:\n  limits: { ${limits} }\n${extra}`);

  it('refuses a presence TTL at or below the heartbeat timeout (plus its sweep): presence would lapse on live connections', () => {
    // The swarm drew TTL 4 s with a 6 s heartbeat timeout (seeds 671742, 672113, 672891, 672061).
    expect(withLimits('presenceTtlMs: 4s, heartbeatTimeoutMs: 6s, heartbeatIntervalMs: 2s')).toContainEqual({
      path: 'cluster.limits.presenceTtlMs', code: 'CONTRADICTORY_LIMITS', message: expect.stringContaining('heartbeatTimeoutMs'),
    });
    expect(withLimits('presenceTtlMs: 7s, heartbeatTimeoutMs: 6s, heartbeatIntervalMs: 2s')).toContainEqual(expect.objectContaining({ path: 'cluster.limits.presenceTtlMs' }));
    expect(parseScenario('population: { users: 10 }\ncluster:\n  limits: { presenceTtlMs: 8s, heartbeatTimeoutMs: 6s, heartbeatIntervalMs: 2s }\n', 't').ok).toBe(true);
  });

  it('refuses every other contradictory pair, each naming the field and with the stable code', () => {
    const cases: Array<[string, string, string?]> = [
      ['heartbeatIntervalMs: 10s, heartbeatTimeoutMs: 10s', 'cluster.limits.heartbeatIntervalMs'],
      ['frameBytesMax: 2000000', 'cluster.limits.frameBytesMax'],
      ['bodyBytesMax: 65536', 'cluster.limits.bodyBytesMax'],
      ['frameBytesMax: 300, bodyBytesMax: 10', 'cluster.limits.frameBytesMax'],
      ['sendBufferBytesMax: 1000', 'cluster.limits.sendBufferBytesMax'],
      ['tokenTtlMs: 30s', 'cluster.limits.tokenTtlMs'],
      ['bodyBytesMax: 100', 'load.bodyBytes.max', 'load: { bodyBytes: { min: 10, max: 200 } }\n'],
    ];
    for (const [limits, path, extra] of cases) {
      expect(withLimits(limits, extra), limits).toContainEqual(expect.objectContaining({ path, code: 'CONTRADICTORY_LIMITS' }));
    }
  });

  it('accepts the defaults and every shipped scenario', () => {
    expect(parseScenario('population: { users: 10 }\n', 't').ok).toBe(true);
  });
});

describe('scenario errors: where and did you mean', () => {
  it('gives the line and column of an unknown key and the nearest known key', () => {
    const text = tiny.replace('  friendsPerUser: 3', '  friendsPerUser: 3\n  usres: 4');
    const result = parseScenario(text, 'test');
    if (result.ok) throw new Error('expected the scenario to be rejected');
    const line = text.split('\n').findIndex((l) => l.startsWith('  usres:')) + 1;
    expect(result.errors).toEqual([{ path: 'population.usres', message: 'unknown field; did you mean "users"?', line, col: 3 }]);
  });

  it('tells a top-level phones (or a typo of it) that phones come from the population and --phones', () => {
    const text = tiny.replace('durationMs: 4s', 'phonse: 300\ndurationMs: 4s');
    const result = parseScenario(text, 'test');
    if (result.ok) throw new Error('expected the scenario to be rejected');
    const line = text.split('\n').indexOf('phonse: 300') + 1;
    expect(result.errors).toEqual([{ path: 'phonse', message: expect.stringMatching(/^unknown field; did you mean "phones"\? A scenario has no phones field: .*--phones N/), line, col: 1 }]);
    expect(errorsOf(tiny.replace('durationMs: 4s', 'phones: 300\ndurationMs: 4s'))[0]!.message).toMatch(/^unknown field: A scenario has no phones field/);
  });

  it('points at the value of a wrong field, suggests enum values, and lists the fields when nothing is near', () => {
    const text = tiny.replace('profile: good-4g', 'profile: good-4G').replace('description: CLI test scenario', 'description: CLI test scenario\nzzz: 1');
    const result = parseScenario(text, 'test');
    if (result.ok) throw new Error('expected the scenario to be rejected');
    const lines = text.split('\n');
    const profileLine = lines.findIndex((l) => l.includes('good-4G'));
    expect(result.errors).toContainEqual({ path: 'network[0].profile', message: expect.stringContaining('did you mean "good-4g"?'), line: profileLine + 1, col: lines[profileLine]!.indexOf('good-4G') + 1 });
    expect(result.errors).toContainEqual({ path: 'zzz', message: expect.stringMatching(/^unknown field \(this section takes name, description, seed/), line: lines.indexOf('zzz: 1') + 1, col: 1 });
  });

  it('suggests names for a threshold metric, a tag and a bug', () => {
    expect(errorsOf(tiny.replace('"sendToAck p(99) < 10s"', '"sendToAk p(99) < 10s"'))).toContainEqual({ path: 'thresholds[0]', message: 'unknown metric "sendToAk"; did you mean "sendToAck"?' });
    expect(errorsOf(tiny.replace('"sendToAck p(99) < 10s"', '"sendToAck{profiel:wifi} p(99) < 10s"'))).toContainEqual({ path: 'thresholds[0]', message: expect.stringContaining('did you mean "profile"?') });
    expect(errorsOf(`${tiny}bugs: [sync-off-by-on]\n`)).toContainEqual({ path: 'bugs[0]', message: 'unknown bug "sync-off-by-on"; did you mean "sync-off-by-one"?' });
  });

  it('names the flag, not a line of the file, for a value the command line set', () => {
    const errors = (overrides: Parameters<typeof parseScenario>[2], text = tiny) => {
      const result = parseScenario(text, 'test', overrides);
      if (result.ok) throw new Error('expected the scenario to be rejected');
      return result.errors;
    };
    expect(errors({ durationMs: 0 })).toEqual([{ path: 'durationMs', message: 'must be above 0 (set by --duration)' }]);
    expect(errors({ bugs: ['nope'] })).toEqual([{ path: 'bugs[0]', message: 'unknown bug "nope"; `chatsim bugs` lists them (set by --inject-bug)' }]);
    expect(errors({ bugs: ['nope'] }, `${tiny}bugs: [sync-off-by-one]\n`)).toEqual([{ path: 'bugs[1]', message: 'unknown bug "nope"; `chatsim bugs` lists them (set by a flag)' }]);
    expect(errors({ target: 'localhost' })[0]).toMatchObject({ path: 'target.httpUrl', message: expect.stringMatching(/\(set by --target\)$/) });
    expect(errors({ target: 'localhost' })[0]!.line).toBeUndefined();
  });

  it('gives the line and column of a YAML syntax error', () => {
    const result = parseScenario('name: t\npopulation: {users: 3\n', 'test');
    if (result.ok) throw new Error('expected the scenario to be rejected');
    expect(result.errors[0]).toMatchObject({ path: '', line: expect.any(Number), col: expect.any(Number) });
    expect(result.errors[0]!.message).toMatch(/^YAML: /);
  });
});
