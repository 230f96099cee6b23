// Issue 14, must-show 3, for the backend faults of the scenario language: each fault kind runs
// on the simulation engine, where the correct cluster passes every property under it and a
// matching injected bug fails the property it breaks. (The live engine and the multi-process
// cluster play the same kinds: test/cluster/backendFaults.test.ts.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { performRun } from '../../simulator/engine/performRun.ts';
import { parseScenario } from '../../simulator/scenario/loadScenario.ts';

const time = createSystemTime();

/** A small scenario with one fault; every phone on a good link, so the fault is the only trouble. */
function scenarioYaml(fault: string, options: { gateways?: number; users?: number; seed?: number; limits?: string; network?: string } = {}): string {
  return `
name: backend-fault
description: one backend fault
seed: ${options.seed ?? 11}
engine: sim
cluster:
  gateways: ${options.gateways ?? 2}
  chatServers: 2
  presenceDebounceMs: 3s
  limits: { heartbeatIntervalMs: 2s, heartbeatTimeoutMs: 6s, presenceTtlMs: ${options.limits ?? '15s'} }
population:
  users: ${options.users ?? 16}
  devices: [{ devices: 1, share: 0.7 }, { devices: 2, share: 0.3 }]
  directChatsPerUser: 2
  groups: { count: 2, size: { min: 3, max: 6 } }
  friendsPerUser: 3
load:
  ramp: [{ durationMs: 1s, target: 21 }]
  messagesPerMinute: 40
  foregroundShare: 0.9
  typingShare: 0.3
network:
  - ${options.network ?? '{ profile: good-4g, share: 1 }'}
faults:
  - ${fault}
durationMs: 14s
healMs: 15s
`;
}

interface Outcome {
  failed: string[];
  examples: string[];
}

async function run(yaml: string, bugs: string[] = []): Promise<Outcome> {
  const parsed = parseScenario(yaml, 'backend-fault', { bugs });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
  const outDir = mkdtempSync(join(tmpdir(), 'backend-fault-'));
  const result = await performRun({ file: 'backend-fault.yaml', scenario: parsed.scenario, outDir, reproduce: '', checks: 'all', time });
  if (result.summary.runFailed) throw new Error(`${result.summary.runFailed.code}: ${result.summary.runFailed.message}`);
  const failed = result.properties.filter((p) => p.verdict === 'fail');
  return { failed: failed.map((p) => p.id), examples: failed.flatMap((p) => p.examples.slice(0, 2).map((x) => `${p.id}: ${x}`)) };
}

interface Case {
  kind: string;
  fault: string;
  bug: string;
  breaks: string;
  options?: Parameters<typeof scenarioYaml>[1];
}

const CASES: Case[] = [
  { kind: 'store-outage', fault: '{ atMs: 5s, kind: store-outage, forMs: 3s }', bug: 'ack-before-persist', breaks: 'B2' },
  { kind: 'slow-store', fault: '{ atMs: 5s, kind: slow-store, latencyMs: 12s, forMs: 4s }', bug: 'no-dedupe', breaks: 'A4' },
  { kind: 'restart-presence-store', fault: '{ atMs: 5s, kind: restart-presence-store, forMs: 1s }', bug: 'no-presence-reregister', breaks: 'D4' },
  { kind: 'kill-gateway', fault: '{ atMs: 5s, kind: kill-gateway, gateway: 0, forMs: 1s }', bug: 'reuse-connection-ids', breaks: 'A10',
    // Links that reset now and then, so phones come back to the revived gateway while the old life's entries live.
    options: { gateways: 2, network: '{ profile: { name: resetting, latencyMs: { base: 30, jitter: 10 }, resetsPerMinute: 12 }, share: 1 }' } },
  { kind: 'drain-gateway', fault: '{ atMs: 5s, kind: drain-gateway, gateway: 0, forMs: 3s }', bug: 'no-reconnect-on-going-away', breaks: 'F1' },
  { kind: 'duplicate-broker-messages', fault: '{ atMs: 3s, kind: duplicate-broker-messages, share: 0.5, forMs: 8s }', bug: 'render-duplicate-push', breaks: 'A4' },
  { kind: 'reorder-broker-messages', fault: '{ atMs: 3s, kind: reorder-broker-messages, share: 0.5, forMs: 8s }', bug: 'render-out-of-order-push', breaks: 'A2' },
  { kind: 'lose-broker-channel (gateway)', fault: '{ atMs: 3s, kind: lose-broker-channel, channel: gateway, gateway: 0, share: 0.5, forMs: 8s }', bug: 'sync-off-by-one', breaks: 'C1' },
  { kind: 'lose-broker-channel (presence)', fault: '{ atMs: 3s, kind: lose-broker-channel, channel: presence, share: 0.5, forMs: 8s }', bug: 'no-presence-debounce', breaks: 'D1',
    options: { network: '{ profile: { name: resetting, latencyMs: { base: 30, jitter: 10 }, resetsPerMinute: 12 }, share: 1 }' } },
];

describe('backend faults on the simulation engine', () => {
  for (const c of CASES) {
    it.runIf(!process.env.ONLY || process.env.ONLY === c.kind)(`${c.kind}: the correct cluster passes every property`, async () => {
      const outcome = await run(scenarioYaml(c.fault, c.options));
      expect(outcome.examples.join("\n")).toBe("");
    }, 60_000);

    it.runIf(!process.env.ONLY || process.env.ONLY === c.kind)(`${c.kind}: with ${c.bug} injected, ${c.breaks} fails`, async () => {
      const outcome = await run(scenarioYaml(c.fault, c.options), [c.bug]);
      expect(outcome.failed, outcome.examples.join('\n')).toContain(c.breaks);
    }, 60_000);
  }
});
