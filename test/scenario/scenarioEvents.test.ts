// Scenario events (issue 14, the scenario language widened): membership changes, device
// lifecycle and correlated load. Each is proven both ways on the simulation engine: the correct
// cluster passes every property, and a matching injected bug fails the property it breaks.
// The live engine plays the same events over real WebSockets (one run, all events, correct).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { checkRun } from '../../simulator/check/checkRun.ts';
import type { PropertyResult } from '../../simulator/check/PropertyResult.ts';
import { runLive } from '../../simulator/engine/LiveRun.ts';
import { runSim } from '../../simulator/engine/sim/SimRun.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { parseScenario } from '../../simulator/scenario/loadScenario.ts';
import type { Scenario } from '../../simulator/scenario/Scenario.ts';
import { drawScenario } from '../../simulator/swarm/drawScenario.ts';

interface Shape {
  seed: number;
  users: number;
  groups: string;
  mpm: number;
  devices?: string;
  network: string;
  events: string;
  bugs?: string[];
  engine?: 'sim' | 'live';
}

const GOOD = '  - { profile: good-4g, share: 1 }';
/** Two link profiles with no faults of their own: phones reconnect only when an event says so. */
const QUIET = [
  '  - profile: { name: quiet-a, latencyMs: { base: 20, jitter: 10 } }',
  '    share: 0.5',
  '  - profile: { name: quiet-b, latencyMs: { base: 20, jitter: 10 } }',
  '    share: 0.5',
].join('\n');

function scenarioOf(s: Shape): Scenario {
  const text = `
name: events-test
seed: ${s.seed}
engine: ${s.engine ?? 'sim'}
cluster:
  gateways: 2
  chatServers: 2
  presenceDebounceMs: 3s
  limits: { heartbeatIntervalMs: 2s, heartbeatTimeoutMs: 6s, presenceTtlMs: 15s }
population:
  users: ${s.users}
  devices: ${s.devices ?? '[{ devices: 1, share: 0.7 }, { devices: 2, share: 0.3 }]'}
  directChatsPerUser: 2
  groups: ${s.groups}
  friendsPerUser: 4
load:
  model: closed
  ramp: [{ durationMs: 1s, target: ${s.users} }]
  messagesPerMinute: ${s.mpm}
  foregroundShare: 0.9
  typingShare: 0.3
network:
${s.network}
events: ${s.events}
bugs: [${(s.bugs ?? []).join(', ')}]
durationMs: 14s
healMs: 15s
`;
  const parsed = parseScenario(text, 'events-test');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.scenario;
}

async function run(shape: Shape): Promise<{ events: HistoryEvent[]; failed: PropertyResult[] }> {
  const scenario = scenarioOf(shape);
  const outDir = mkdtempSync(join(tmpdir(), 'chatsim-events-'));
  const outcome = scenario.engine === 'sim'
    ? await runSim({ scenario, outDir })
    : await runLive({ scenario, outDir, time: createSystemTime(), workers: 1 });
  if (!outcome.ok) throw new Error(outcome.message);
  const results = checkRun(outcome.events, outcome.facts, {
    presenceDebounceMs: scenario.cluster.presenceDebounceMs, presenceTtlMs: 15_000, seed: scenario.seed, reproduce: 'r', checks: 'all',
    ...(outcome.facts.friendsOfUser ? { friendsOfUser: outcome.facts.friendsOfUser } : {}),
  });
  return { events: outcome.events, failed: results.filter((r) => r.verdict === 'fail') };
}

const ids = (failed: PropertyResult[]): string[] => failed.map((r) => `${r.id}: ${r.examples[0] ?? ''}`);

const MEMBERSHIP: Shape = {
  seed: 7, users: 16, groups: '{ count: 3, size: { min: 4, max: 8 } }', mpm: 40, network: GOOD,
  events: '[{ atMs: 3s, kind: kick-member, group: 0 }, { atMs: 4s, kind: leave-group, group: 1 }, { atMs: 5s, kind: join-group, group: 2 }, { atMs: 6s, kind: join-group }, { atMs: 7s, kind: kick-member }]',
};
const JOINS: Shape = {
  seed: 5, users: 12, devices: '[{ devices: 1, share: 1 }]', groups: '{ count: 1, size: { min: 4, max: 4 } }', mpm: 30, network: GOOD,
  events: '[{ atMs: 2s, kind: join-group, group: 0 }, { atMs: 3s, kind: join-group, group: 0 }, { atMs: 4s, kind: join-group, group: 0 }, { atMs: 5s, kind: hot-chat, group: 0, share: 0.9, forMs: 8s }]',
};
const DEVICES: Shape = {
  seed: 8, users: 16, groups: '{ count: 2, size: { min: 4, max: 8 } }', mpm: 40, network: GOOD,
  events: '[{ atMs: 3s, kind: add-device }, { atMs: 4s, kind: logout-device }, { atMs: 6s, kind: reinstall-device }, { atMs: 8s, kind: reinstall-device }, { atMs: 9s, kind: add-device, user: u3 }]',
};
const QUIET_BASE = { seed: 9, users: 20, groups: '{ count: 3, size: { min: 4, max: 10 } }', mpm: 3, network: QUIET };
const TUNNEL: Shape = { ...QUIET_BASE, events: '[{ atMs: 4s, kind: tunnel, profile: quiet-a, forMs: 3s }]' };
const BURST: Shape = { ...QUIET_BASE, events: '[{ atMs: 4s, kind: burst, messages: 120, phones: 20, withinMs: 1s }]' };
const HOT: Shape = { ...QUIET_BASE, events: '[{ atMs: 3s, kind: hot-chat, group: 0, share: 1, forMs: 8s }]' };
const NONE: Shape = { ...QUIET_BASE, events: '[]' };

describe('scenario events: the loader', () => {
  it('reads every kind, with durations in ms', () => {
    const s = scenarioOf({ ...TUNNEL, events: '[{ atMs: 4s, kind: tunnel, profile: quiet-a, forMs: 3s }, { atMs: 5s, kind: burst, messages: 10, phones: 2, withinMs: 500ms }, { atMs: 6s, kind: hot-chat, share: 0.5, forMs: 2s }, { atMs: 7s, kind: kick-member, group: 1, user: u2 }, { atMs: 8s, kind: reinstall-device, device: u1/d1 }]' });
    expect(s.events).toEqual([
      { atMs: 4000, kind: 'tunnel', profile: 'quiet-a', forMs: 3000 },
      { atMs: 5000, kind: 'burst', messages: 10, phones: 2, withinMs: 500 },
      { atMs: 6000, kind: 'hot-chat', share: 0.5, forMs: 2000 },
      { atMs: 7000, kind: 'kick-member', group: 1, user: 'u2' },
      { atMs: 8000, kind: 'reinstall-device', device: 'u1/d1' },
    ]);
  });

  it('refuses what cannot play: a group, user or profile that does not exist, a time after the load, a missing field', () => {
    const errors = (events: string): string[] => {
      const parsed = parseScenario(`population: { users: 4, groups: { count: 1, size: { min: 2, max: 3 } } }\nnetwork: [{ profile: wifi, share: 1 }]\ndurationMs: 10s\nevents: ${events}\n`, 'x');
      return parsed.ok ? [] : parsed.errors.map((e) => `${e.path}: ${e.message}`);
    };
    expect(errors('[{ atMs: 1s, kind: join-group, group: 1 }]').join()).toMatch(/events\[0\]\.group/);
    expect(errors('[{ atMs: 1s, kind: add-device, user: u9 }]').join()).toMatch(/events\[0\]\.user/);
    expect(errors('[{ atMs: 1s, kind: tunnel, profile: 3g, forMs: 1s }]').join()).toMatch(/events\[0\]\.profile/);
    expect(errors('[{ atMs: 12s, kind: logout-device }]').join()).toMatch(/events\[0\]\.atMs/);
    expect(errors('[{ atMs: 1s, kind: burst, messages: 3 }]').length).toBeGreaterThan(0);
    expect(errors('[{ atMs: 1s, kind: burst, messages: 3, phones: 2, withinMs: 1s }]')).toEqual([]);
  });

  it('the swarm draws every kind of event, and every drawn scenario loads', () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) for (const e of drawScenario(seed).scenario.events) kinds.add(e.kind);
    expect([...kinds].sort()).toEqual(['add-device', 'burst', 'hot-chat', 'join-group', 'kick-member', 'leave-group', 'logout-device', 'reinstall-device', 'tunnel']);
  });
});

describe('scenario events on the simulation engine: the correct cluster passes, a matching bug fails', () => {
  it('replays byte for byte: the same seed plays the same events on the same targets', async () => {
    const text = (r: { events: HistoryEvent[] }): string => r.events.map((e) => JSON.stringify(e)).join('\n');
    const shape: Shape = { ...MEMBERSHIP, events: '[{ atMs: 3s, kind: kick-member }, { atMs: 4s, kind: join-group }, { atMs: 5s, kind: reinstall-device }, { atMs: 6s, kind: burst, messages: 20, phones: 5, withinMs: 1s }]' };
    expect(text(await run(shape))).toBe(text(await run(shape)));
  }, 60_000);

  it('membership: joins, leaves and kicks pass; a server that keeps fanning out to removed members fails A10', async () => {
    const correct = await run(MEMBERSHIP);
    expect(correct.events.filter((e) => e.type === 'oracle' && e.what === 'member-removed')).toHaveLength(3);
    expect(correct.events.filter((e) => e.type === 'oracle' && e.what === 'member' && e.t > 0)).toHaveLength(2);
    expect(ids(correct.failed)).toEqual([]);
    const bugged = await run({ ...MEMBERSHIP, bugs: ['stale-roster-cache'] });
    expect(ids(bugged.failed).join('\n')).toMatch(/^A10: device u\d+\/d\d \(user u\d+, removed from g:\d/m);
  }, 60_000);

  it('joins: group ticks over current members pass (B5 counts joiners from their joinedAtSeq); ticks that skip joiners fail B8', async () => {
    expect(ids((await run(JOINS)).failed)).toEqual([]);
    expect(ids((await run({ ...JOINS, bugs: ['ticks-skip-joiners'] })).failed).join('\n')).toMatch(/^B8: group g:0/m);
  }, 60_000);

  it('devices: added, logged-out and reinstalled devices pass; a fresh install that syncs from a stale watermark fails A5', async () => {
    const correct = await run(DEVICES);
    expect(correct.events.some((e) => e.type === 'connect' && /\/n\d+$/.test(e.p))).toBe(true);
    expect(correct.events.some((e) => e.type === 'connect' && /\/d\d+r\d+$/.test(e.p))).toBe(true);
    expect(correct.events.filter((e) => e.type === 'disconnect' && e.reason === 'logged out').length).toBeGreaterThanOrEqual(3);
    expect(ids(correct.failed)).toEqual([]);
    expect(ids((await run({ ...DEVICES, bugs: ['fresh-install-stale-watermark'] })).failed).join('\n')).toMatch(/^A5: .* never rendered on u\d+\/d\dr\d/m);
  }, 60_000);

  it('tunnel: every phone of the profile drops at once; sync-off-by-one, unseen on a quiet network, fails once the tunnel makes them resync', async () => {
    const correct = await run(TUNNEL);
    expect(correct.events.filter((e) => e.type === 'oracle' && e.what === 'link-down' && e.t === 4000).length).toBeGreaterThan(5);
    expect(ids(correct.failed)).toEqual([]);
    expect(ids((await run({ ...NONE, bugs: ['sync-off-by-one'] })).failed)).toEqual([]);
    expect(ids((await run({ ...TUNNEL, bugs: ['sync-off-by-one'] })).failed).join('\n')).toMatch(/^(C1|A3|A5): /m);
  }, 60_000);

  it('burst: N sends from M phones within the window; cursor-overshoot, unseen at the steady rate, fails B3 under the burst', async () => {
    const correct = await run(BURST);
    expect(correct.events.filter((e) => e.type === 'invoke' && e.op === 'send' && e.t >= 4000 && e.t <= 5000).length).toBeGreaterThanOrEqual(120);
    expect(ids(correct.failed)).toEqual([]);
    expect(ids((await run({ ...NONE, bugs: ['cursor-overshoot'] })).failed)).toEqual([]);
    expect(ids((await run({ ...BURST, bugs: ['cursor-overshoot'] })).failed).join('\n')).toMatch(/^B3: /m);
  }, 60_000);

  it('hot chat: the group takes the sends of its members; snowflake-ids, unseen at the steady rate, fails C1 in the hot chat', async () => {
    const correct = await run(HOT);
    const sends = correct.events.filter((e): e is Extract<HistoryEvent, { type: 'invoke'; op: 'send' }> => e.type === 'invoke' && e.op === 'send' && e.t >= 3000 && e.t < 11_000);
    expect(sends.filter((e) => e.chat === 'g:0').length / sends.length).toBeGreaterThan(0.3);
    expect(ids(correct.failed)).toEqual([]);
    expect(ids((await run({ ...NONE, bugs: ['snowflake-ids'] })).failed)).toEqual([]);
    expect(ids((await run({ ...HOT, bugs: ['snowflake-ids'] })).failed).join('\n')).toMatch(/^C1: .* g:0/m);
  }, 60_000);
});

describe('scenario events on the live engine (real WebSockets)', () => {
  it('plays every kind of event; the correct cluster passes, stale-roster-cache fails A10 and fresh-install-stale-watermark A5', async () => {
    const events = '[{ atMs: 2s, kind: kick-member, group: 0 }, { atMs: 3s, kind: join-group, group: 1 }, { atMs: 3500ms, kind: leave-group, group: 2 }, '
      + '{ atMs: 4s, kind: add-device }, { atMs: 5s, kind: reinstall-device }, { atMs: 5500ms, kind: logout-device }, '
      + '{ atMs: 6s, kind: tunnel, profile: quiet-a, forMs: 2s }, { atMs: 7s, kind: burst, messages: 40, phones: 8, withinMs: 1s }, { atMs: 8s, kind: hot-chat, group: 0, share: 0.8, forMs: 4s }]';
    const live: Shape = { seed: 21, users: 14, groups: '{ count: 3, size: { min: 4, max: 8 } }', mpm: 30, network: QUIET, events, engine: 'live' };
    const correct = await run(live);
    expect(correct.events.some((e) => e.type === 'oracle' && e.what === 'member-removed')).toBe(true);
    expect(correct.events.some((e) => e.type === 'connect' && /\/d\d+r\d+$/.test(e.p))).toBe(true);
    expect(ids(correct.failed)).toEqual([]);
    const bugged = await run({ ...live, bugs: ['stale-roster-cache', 'fresh-install-stale-watermark'] });
    const failed = ids(bugged.failed).join('\n');
    expect(failed).toMatch(/^A10: .*removed from g:/m);
    expect(failed).toMatch(/^A5: .* never rendered on u\d+\/d\dr\d/m);
  }, 120_000);
});
