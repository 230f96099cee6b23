import { describe, expect, it } from 'vitest';
import { buildSummary } from '../../simulator/report/Summary.ts';
import { failuresCausesFirst, rootCauseOf } from '../../simulator/report/rootCause.ts';
import { formatSummary } from '../../simulator/report/terminalSummary.ts';
import { property, sampleInput } from './fixtures.ts';

/** sync-off-by-one as the checkers report it: symptoms (A3, A5, F1) in catalogue order before the cause (C1). */
const SYNC_OFF_BY_ONE = [
  property({ id: 'A1', name: 'one order per chat' }),
  property({ id: 'A3', name: 'no gaps after sync', verdict: 'fail', violations: 629, examples: ['device u33/d1 completed sync d1-s24 with g:3 head 19, but holds g:3 only up to seq 0'] }),
  property({ id: 'A5', verdict: 'fail', violations: 372, examples: ['d:u14:u23 seq 1 was acknowledged to u14/d1 and never rendered on u23/d2'] }),
  property({ id: 'C1', name: 'watermark sync is exact', verdict: 'fail', violations: 674, examples: ['sync d1-s1 of u12/d1 for g:3 from watermark 10 started at seq 12'] }),
  property({ id: 'F1', name: 'convergence after heal', verdict: 'fail', violations: 372, examples: ['A5: d:u14:u23 seq 1 was acknowledged to u14/d1 and never rendered on u23/d2'] }),
  property({ id: 'X9', name: 'a property the table does not know', verdict: 'fail', violations: 1, examples: ['x'] }),
];

describe('root cause', () => {
  it('puts the cause before its symptoms, and unknown ids last', () => {
    expect(failuresCausesFirst(buildSummary(sampleInput({ properties: SYNC_OFF_BY_ONE })).properties).map((p) => p.id)).toEqual(['C1', 'A3', 'A5', 'F1', 'X9']);
  });

  it('shows one example per distinct case: an aggregate quoting another property is not repeated', () => {
    const cause = rootCauseOf(buildSummary(sampleInput({ properties: SYNC_OFF_BY_ONE })).properties)!;
    expect(cause.lead.property.id).toBe('C1');
    expect(cause.lead.example).toContain('from watermark 10 started at seq 12');
    expect(cause.others.find((o) => o.property.id === 'F1')!.example).toBeNull();
    expect(cause.others.find((o) => o.property.id === 'A5')!.example).toContain('never rendered');
  });

  it('has no root cause when nothing failed', () => {
    expect(rootCauseOf(buildSummary(sampleInput()).properties)).toBeUndefined();
  });

  it('the terminal summary leads with the cause and the shrink command, and does not repeat an example', () => {
    const text = formatSummary(buildSummary(sampleInput({ properties: SYNC_OFF_BY_ONE })), { color: false, runDir: 'reports/run-1' });
    const lines = text.split('\n');
    const rootLine = lines.findIndex((l) => l.startsWith('root cause'));
    expect(lines[rootLine]).toBe('root cause, most likely: C1 watermark sync is exact');
    expect(rootLine).toBeLessThan(lines.findIndex((l) => l === 'properties'));
    expect(text).toContain('also failing, most likely as a consequence: A3, A5, F1, X9');
    expect(text).toContain('shrink it to a small case: chatsim shrink reports/run-1');
    expect(text.match(/never rendered on u23\/d2/g)).toHaveLength(1);
    const tableIds = lines.slice(lines.indexOf('properties') + 2).map((l) => l.trim().split(/\s+/)[0]).filter((id) => /^[A-Z]\d+$/.test(id!));
    expect(tableIds.slice(0, 5)).toEqual(['C1', 'A3', 'A5', 'F1', 'X9']);
  });
});
