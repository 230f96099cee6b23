// Issue 17: faults against a server chatsim did not start. A fault the run's cluster or target
// cannot take is never skipped silently: it is not played, leaves no window for the checkers to
// excuse, and the summary (summary.json, the text report, junit.xml) names it with the reason.
// The loader does not refuse such a scenario: `--target` turns any scenario into one against a
// target, and the issue asks the summary to say what a target could not take.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClusterControl } from '../../server/ClusterControl.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { applyFault, faultNotTakenReason, type TargetFaultHooks } from '../../simulator/faults/faultKinds.ts';
import { performRun } from '../../simulator/engine/performRun.ts';
import { junitXml } from '../../simulator/report/junit.ts';
import { reportHtml } from '../../simulator/report/reportHtml.ts';
import { formatSummary } from '../../simulator/report/terminalSummary.ts';
import { parseScenario } from '../../simulator/scenario/loadScenario.ts';
import { sampleMetrics, sampleSummary } from '../report/fixtures.ts';
import { findAll, parseXml } from '../report/xmlCheck.ts';

const cluster = {} as ClusterControl;
const ejabberd: TargetFaultHooks = { name: 'ejabberd', restart: () => Promise.resolve() };
const chatsimTarget: TargetFaultHooks = { name: '--target http://127.0.0.1:7000' };

describe('which faults a cluster or target can take', () => {
  it('ejabberd takes restart-target and phone clock jumps, not the reference cluster\'s faults', () => {
    expect(faultNotTakenReason({ atMs: 1000, kind: 'partition-gateway', gateway: 0, forMs: 500 }, { cluster: undefined, target: ejabberd }))
      .toMatch(/^ejabberd: partition-gateway needs the reference cluster/);
    expect(faultNotTakenReason({ atMs: 1000, kind: 'restart-presence-store', forMs: 0 }, { cluster: undefined, target: ejabberd })).toMatch(/^ejabberd: restart-presence-store needs/);
    expect(faultNotTakenReason({ atMs: 1000, kind: 'restart-target', forMs: 0 }, { cluster: undefined, target: ejabberd })).toBeUndefined();
    expect(faultNotTakenReason({ atMs: 1000, kind: 'clock-jump', target: 'phones', byMs: 5000 }, { cluster: undefined, target: ejabberd })).toBeUndefined();
  });

  it('the reference cluster takes its own faults, not restart-target; a chatsim --target takes neither', () => {
    expect(faultNotTakenReason({ atMs: 1000, kind: 'kill-chat-server', chatServer: 0 }, { cluster })).toBeUndefined();
    expect(faultNotTakenReason({ atMs: 1000, kind: 'restart-target', forMs: 0 }, { cluster })).toMatch(/^the reference cluster: restart-target is for a target chatsim did not start/);
    expect(faultNotTakenReason({ atMs: 1000, kind: 'restart-target', forMs: 0 }, { cluster: undefined, target: chatsimTarget })).toMatch(/^--target http:\/\/127\.0\.0\.1:7000: restart-target needs a target chatsim can restart/);
    expect(faultNotTakenReason({ atMs: 1000, kind: 'store-outage', forMs: 500 }, { cluster: undefined, target: chatsimTarget })).toMatch(/store-outage needs the reference cluster/);
  });

  it('restart-target restarts the target through its hook (down forMs) and ends when it answers again', async () => {
    const time = new ManualTime(0);
    const calls: number[] = [];
    const lines: string[] = [];
    const target: TargetFaultHooks = { name: 'ejabberd', restart: (downMs) => { calls.push(downMs); return new Promise((resolve) => time.schedule(3000, resolve)); } };
    const ended = applyFault({ atMs: 1000, kind: 'restart-target', forMs: 500 }, { cluster: undefined, target, time, log: (l) => lines.push(l) });
    await Promise.resolve();
    time.advance(3000);
    expect(await ended).toBeUndefined(); // instant kind: the window closes when apply resolves
    expect(calls).toEqual([500]);
    expect(lines).toEqual(['fault: ejabberd restarts, down for 500 ms', 'fault over: ejabberd answers again, 3000 ms after the restart began']);
  });

  it('a restart that fails rejects (the run lists it as not taken, with why)', async () => {
    const target: TargetFaultHooks = { name: 'ejabberd', restart: () => Promise.reject(new Error('no node started from /x')) };
    await expect(applyFault({ atMs: 1000, kind: 'restart-target', forMs: 0 }, { cluster: undefined, target, time: new ManualTime(0), log: () => undefined })).rejects.toThrow('no node started from /x');
  });
});

describe('the summary names the faults not taken', () => {
  const notTaken = [{ kind: 'partition-gateway', atMs: 20_000, label: 'gateway 0 partitioned', reason: 'ejabberd: partition-gateway needs the reference cluster (a target chatsim did not start has no such part to fault)' }];

  it('in summary.json, the text report, report.html and junit.xml (skipped, with the reason); absent when every fault was taken', () => {
    const summary = sampleSummary({ faultsNotTaken: notTaken });
    expect(summary.faultsNotTaken).toEqual(notTaken);
    expect(summary.verdict).toBe('pass'); // not a failure of the system under test
    const text = formatSummary(summary, { color: false });
    expect(text).toContain('faults not taken (1 of the scenario\'s, not played):');
    expect(text).toContain('partition-gateway at 20s (gateway 0 partitioned): ejabberd: partition-gateway needs the reference cluster');
    const xml = parseXml(junitXml(summary));
    const faultCases = findAll(xml, 'testcase').filter((c) => c.attributes.classname === 'faults');
    expect(faultCases.map((c) => c.attributes.name)).toEqual(['partition-gateway at 20000 ms taken']);
    expect(faultCases[0]!.children[0]).toMatchObject({ name: 'skipped', attributes: { message: `not taken: ${notTaken[0]!.reason}` } });
    expect(Number(findAll(xml, 'testsuite')[0]!.attributes.skipped)).toBeGreaterThanOrEqual(1);
    expect(reportHtml({ summary, metrics: sampleMetrics().snapshot(), faults: [] })).toContain('<li><b>partition-gateway</b> at 20s: ejabberd: partition-gateway needs the reference cluster');
    expect(sampleSummary({}).faultsNotTaken).toBeUndefined();
    expect(formatSummary(sampleSummary({}), { color: false })).not.toContain('faults not taken');
  });

  it('a run on the reference cluster plays its own fault, lists restart-target as not taken, and records no window for it', async () => {
    const parsed = parseScenario(`
name: not-taken
description: restart-target on the reference cluster
seed: 3
engine: sim
population: { users: 6, devices: [{ devices: 1, share: 1 }], directChatsPerUser: 1, groups: { count: 0 }, friendsPerUser: 2 }
load: { ramp: [{ durationMs: 1s, target: 6 }], messagesPerMinute: 30 }
network: [{ profile: good-4g, share: 1 }]
faults:
  - { atMs: 2s, kind: restart-target }
  - { atMs: 3s, kind: kill-chat-server, chatServer: 0 }
durationMs: 6s
healMs: 8s
`, 'not-taken', {});
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    const outDir = mkdtempSync(join(tmpdir(), 'not-taken-'));
    const result = await performRun({ file: 'not-taken.yaml', scenario: parsed.scenario, outDir, reproduce: '', checks: 'all', time: createSystemTime() });
    expect(result.summary.runFailed).toBeUndefined();
    expect(result.summary.faultsNotTaken).toEqual([expect.objectContaining({ kind: 'restart-target', atMs: 2000, reason: expect.stringMatching(/^the reference cluster: restart-target/) })]);
    expect(result.summary.faults.map((f) => f.kind)).toEqual(['kill-chat-server']);
    const faultEvents = (result.events ?? []).filter((e) => e.type === 'oracle' && (e.what === 'fault-start' || e.what === 'fault-end')).map((e) => (e as { fault: string }).fault);
    expect(faultEvents).toEqual(['kill-chat-server', 'kill-chat-server']);
  }, 60_000);
});
