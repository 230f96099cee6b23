// Checkers answer `unknown` with a reason for what the run's phone driver cannot carry
// (facts.driverCapabilities, simulator/check/propertyNeeds.ts), and judge as before otherwise.
import { describe, expect, it } from 'vitest';
import { checkHistory, type CheckFacts } from '../../simulator/check/checkAll.ts';
import { ALL_CAPABILITIES, type DriverCapability } from '../../simulator/drivers/DriverCapabilities.ts';
import { PROPERTY_NEEDS } from '../../simulator/check/propertyNeeds.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';

const facts: CheckFacts = { chatMembers: new Map([['c1', ['a', 'b']]]), devicesOfUser: new Map([['a', ['d1']], ['b', ['d1']]]) };

/** b reads a's message on screen but never sends the read receipt: B6 fails where read markers exist. */
function missedRead(): HistoryEvent[] {
  return [
    { t: 0, p: 'harness', type: 'oracle', what: 'phase', phase: 'load' },
    { t: 0, p: 'a/d1', type: 'connect', gateway: 'gw1' }, { t: 0, p: 'b/d1', type: 'connect', gateway: 'gw1' },
    { t: 1, p: 'a/d1', type: 'ready' }, { t: 1, p: 'b/d1', type: 'ready' },
    { t: 5, p: 'b/d1', type: 'view', foreground: true, chat: 'c1' },
    { t: 100, p: 'a/d1', type: 'invoke', op: 'send', chat: 'c1', clientMsgId: 'm1', body: 'x' },
    { t: 110, p: 'a/d1', type: 'ok', op: 'send', chat: 'c1', clientMsgId: 'm1', seq: 1, msgId: 'c1-1' },
    { t: 110, p: 'a/d1', type: 'tick', chat: 'c1', clientMsgId: 'm1', seq: 1, tick: 'sent' },
    { t: 120, p: 'b/d1', type: 'render', chat: 'c1', seq: 1, from: 'a', clientMsgId: 'm1', via: 'push', storedAt: 115 },
    { t: 170, p: 'b/d1', type: 'receipt-out', chat: 'c1', kind: 'delivered', upTo: 1, piggyback: false },
    { t: 180, p: 'a/d1', type: 'receipt-in', chat: 'c1', user: 'b', kind: 'delivered', upTo: 1 },
    { t: 180, p: 'a/d1', type: 'tick', chat: 'c1', clientMsgId: 'm1', seq: 1, tick: 'delivered' },
    { t: 5000, p: 'harness', type: 'oracle', what: 'phase', phase: 'heal' },
    { t: 9000, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' },
  ];
}

function verdicts(extra: Partial<CheckFacts>) {
  return new Map(checkHistory(missedRead(), { ...facts, ...extra }, { seed: 1, reproduce: 'x' }).map((r) => [r.id, r]));
}

describe('checkers and driver capabilities', () => {
  it('a driver that declares everything (or says nothing) is judged as before', () => {
    const plain = verdicts({});
    const all = verdicts({ driverCapabilities: ALL_CAPABILITIES });
    expect([...all.values()]).toEqual([...plain.values()]);
    expect(plain.get('B6')!.verdict).toBe('fail');
  });

  it('without read markers the read properties are unknown with the reason; delivery ones are still judged', () => {
    const r = verdicts({ driverCapabilities: { ...ALL_CAPABILITIES, readMarkers: false } });
    expect(r.get('B6')).toMatchObject({ verdict: 'unknown', violations: 0 });
    expect(r.get('B6')!.reason).toMatch(/does not support readMarkers/);
    expect(r.get('B7')!.verdict).toBe('unknown');
    expect(r.get('B4')!.verdict).toBe(verdicts({}).get('B4')!.verdict);
  });

  it('without receipts every receipt-tick property is unknown', () => {
    const r = verdicts({ driverCapabilities: { ...ALL_CAPABILITIES, receipts: false } });
    for (const id of ['B3', 'B4', 'B5', 'B8']) expect(r.get(id)!.verdict).toBe('unknown');
    expect(r.get('B1')!.verdict).not.toBe('unknown');
  });

  it.each(Object.keys(ALL_CAPABILITIES) as DriverCapability[])('without %s exactly the properties that need it are unknown, the rest judged as before', (capability) => {
    const all = verdicts({ driverCapabilities: ALL_CAPABILITIES });
    const lacking = verdicts({ driverCapabilities: { ...ALL_CAPABILITIES, [capability]: false } });
    const needing = Object.entries(PROPERTY_NEEDS).filter(([, needs]) => needs.includes(capability)).map(([id]) => id);
    expect(needing.length).toBeGreaterThan(0);
    for (const [id, result] of lacking) {
      if (needing.includes(id)) {
        expect(result, id).toMatchObject({ verdict: 'unknown', violations: 0 });
        expect(result.reason, id).toContain(`does not support ${capability}`);
      } else {
        expect(result, id).toEqual(all.get(id));
      }
    }
  });

  it('the families named in PROPERTIES.md need what their checkers compare', () => {
    const needs = (id: string) => PROPERTY_NEEDS[id] ?? [];
    for (const id of ['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7']) expect(needs(id)).toEqual(['presence']);
    for (const id of ['C1', 'C2', 'C3']) expect(needs(id)).toEqual(['syncFromPosition']);
    expect(needs('E1')).toEqual(['typing']);
    expect(needs('A4')).toEqual(['serverOrder', 'idempotentSend']);
    for (const id of ['A1', 'A5', 'A6', 'A8', 'A9']) expect(needs(id)).toContain('serverOrder');
    for (const id of ['A3', 'A7', 'A10', 'B1', 'B2', 'F1', 'F2']) expect(needs(id)).toEqual([]);
  });

  describe('capabilities per chat kind (DriverCapabilities.groups)', () => {
    /** The same missed read, in a group chat g1 (a, b) beside an untouched 1:1 chat c1. */
    const inGroup = (): HistoryEvent[] => missedRead().map((e) => ('chat' in e && e.chat === 'c1' ? { ...e, chat: 'g1' } : e) as HistoryEvent);
    const groupFacts: Partial<CheckFacts> = { chatMembers: new Map([['c1', ['a', 'b']], ['g1', ['a', 'b']]]), groupChats: new Set(['g1']) };
    const judgeWith = (events: HistoryEvent[], extra: Partial<CheckFacts>) => new Map(checkHistory(events, { ...facts, ...groupFacts, ...extra }, { seed: 1, reproduce: 'x' }).map((r) => [r.id, r]));
    const noGroupReads = { ...ALL_CAPABILITIES, groups: { readMarkers: false } };

    it('a failure in a group chat is not counted where the driver has no read markers in groups: judged on the 1:1 chats, with that reason', () => {
      expect(judgeWith(inGroup(), { driverCapabilities: ALL_CAPABILITIES }).get('B6')!.verdict).toBe('fail');
      const scoped = judgeWith(inGroup(), { driverCapabilities: noGroupReads }).get('B6')!;
      expect(scoped.verdict).toBe('pass');
      expect(scoped.reason).toMatch(/judged on 1:1 chats only; its 1 group chats are unknown: the phone driver does not support readMarkers in group chats/);
    });

    it('a failure in a 1:1 chat still fails; properties the driver carries in groups are judged as before', () => {
      const all = judgeWith(missedRead(), { driverCapabilities: ALL_CAPABILITIES });
      const scoped = judgeWith(missedRead(), { driverCapabilities: noGroupReads });
      expect(scoped.get('B6')).toMatchObject({ verdict: 'fail', violations: all.get('B6')!.violations });
      for (const id of ['A3', 'A7', 'B1', 'B3', 'B4', 'B5', 'C1', 'E1']) expect(scoped.get(id), id).toEqual(all.get(id));
    });

    it('groups: false makes every property that needs anything judged on 1:1 chats only; a run without group chats is judged as before', () => {
      const none = judgeWith(inGroup(), { driverCapabilities: { ...ALL_CAPABILITIES, groups: false } });
      expect(none.get('B6')!.verdict).toBe('pass');
      expect(none.get('B3')!.reason).toMatch(/does not support .*receipts.* in group chats/);
      const noGroups = judgeWith(missedRead(), { driverCapabilities: noGroupReads, groupChats: new Set() });
      expect(noGroups.get('B6')!.reason).toBeUndefined();
    });
  });
});
