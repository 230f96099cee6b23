import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { connectionSeries } from '../../simulator/report/connectionSeries.ts';
import { runPhases } from '../../simulator/report/runPhases.ts';
import { faultLabel } from '../../simulator/scenario/faultLabel.ts';
import { faultClassOf } from '../../simulator/report/timeSeriesCharts.ts';

const closed = (ramp: Array<{ durationMs: number; target: number }>) => ({ model: 'closed' as const, ramp, arrival: [], messagesPerMinute: 1, foregroundShare: 0.5, typingShare: 0, bodyBytes: { min: 1, max: 2 } });

describe('run phases', () => {
  it('come from the history\'s phase marks, the ramp from the scenario', () => {
    const events: HistoryEvent[] = [
      { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
      { t: 20_150, p: 'harness', type: 'oracle', what: 'phase', phase: 'heal' },
      { t: 35_200, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
    ];
    expect(runPhases({ load: closed([{ durationMs: 2000, target: 10 }, { durationMs: 3000, target: 50 }, { durationMs: 60_000, target: 50 }]), durationMs: 20_000, healMs: 15_000 }, events)).toEqual([
      { name: 'ramp', startMs: 0, endMs: 5000 },
      { name: 'load', startMs: 5000, endMs: 20_150 },
      { name: 'heal', startMs: 20_150, endMs: 35_200 },
    ]);
  });

  it('fall back to the scenario without marks, with no ramp for an open model', () => {
    const open = { ...closed([]), model: 'open' as const };
    expect(runPhases({ load: open, durationMs: 10_000, healMs: 5000 }, [])).toEqual([
      { name: 'load', startMs: 0, endMs: 10_000 },
      { name: 'heal', startMs: 10_000, endMs: 15_000 },
    ]);
  });
});

describe('connection series', () => {
  it('counts devices connected at the end of each second and reconnects in it', () => {
    const events: HistoryEvent[] = [
      { t: 100, p: 'u1/d1', type: 'connect', gateway: 'g1' },
      { t: 200, p: 'u2/d1', type: 'connect', gateway: 'g1' },
      { t: 1500, p: 'u1/d1', type: 'disconnect', code: 1006, reason: '' },
      { t: 3200, p: 'u1/d1', type: 'connect', gateway: 'g2' },
    ];
    expect(connectionSeries(events)).toEqual({ connected: [2, 1, 1, 2], reconnects: [0, 0, 0, 1] });
  });
});

describe('fault labels', () => {
  it('tell a graceful restart from a crash, in words and in colour', () => {
    const graceful = { atMs: 0, kind: 'restart-chat-servers' as const, crash: false };
    const crash = { ...graceful, crash: true };
    expect(faultLabel(graceful)).toBe('chat servers restarted (graceful)');
    expect(faultLabel(crash)).toBe('chat servers crashed (restart)');
    expect(faultClassOf({ kind: graceful.kind, label: faultLabel(graceful) })).toBe('graceful');
    expect(faultClassOf({ kind: crash.kind, label: faultLabel(crash) })).toBe('crash');
    expect(faultClassOf({ kind: 'partition-gateway', label: faultLabel({ atMs: 0, kind: 'partition-gateway', gateway: 1, forMs: 5 }) })).toBe('network');
  });
});
