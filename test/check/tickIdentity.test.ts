import { describe, expect, it } from 'vitest';
import { checkHistory, type CheckFacts } from '../../simulator/check/checkAll.ts';
import type { PropertyResult } from '../../simulator/check/PropertyResult.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import type { DriverCapabilities } from '../../simulator/types/runTypes.ts';

// A driver without serverOrder (XMPP) numbers a chat's messages per device in the order that
// device learns of them: the tick checkers must match receipts to messages by identity.
type E = HistoryEvent;
const perDevice: DriverCapabilities = { serverOrder: false, receipts: true, readMarkers: true, presence: true, typing: true, syncFromPosition: true, idempotentSend: false };
const facts: CheckFacts = { chatMembers: new Map([['c1', ['a', 'b']]]), devicesOfUser: new Map([['a', ['d1']], ['b', ['d1']]]) };

const send = (t: number, p: string, id: string, seq: number): E[] => [
  { t, p, type: 'invoke', op: 'send', chat: 'c1', clientMsgId: id, body: id },
  { t: t + 10, p, type: 'ok', op: 'send', chat: 'c1', clientMsgId: id, seq, msgId: `${p}-${seq}` },
  { t: t + 10, p, type: 'tick', chat: 'c1', clientMsgId: id, seq, tick: 'sent' },
];
const render = (t: number, p: string, seq: number, from: string, id: string): E => ({ t, p, type: 'render', chat: 'c1', seq, from, clientMsgId: id, via: 'push' });
const out = (t: number, p: string, kind: 'delivered' | 'read', upTo: number): E => ({ t, p, type: 'receipt-out', chat: 'c1', kind, upTo, piggyback: false });
const tick = (t: number, p: string, id: string, seq: number, k: 'delivered' | 'read'): E => ({ t, p, type: 'tick', chat: 'c1', clientMsgId: id, seq, tick: k });
const start = (): E[] => ['a/d1', 'b/d1'].flatMap((p): E[] => [
  { t: 0, p, type: 'connect', gateway: 'gw1' },
  { t: 1, p, type: 'invoke', op: 'sync', mode: 'watermark', id: 's0', watermarks: {} },
  { t: 2, p, type: 'ok', op: 'sync', mode: 'watermark', id: 's0', messages: 0, hasMore: false, chats: [] },
]);
const done = (t: number): E => ({ t, p: 'harness', type: 'oracle', what: 'phase', phase: 'done' });

/**
 * m2 and b's n1 cross: a numbers m1 1, n1 2 (arrived before m2's ack), m2 3; b numbers m1 1,
 * m2 2 (arrived before n1's ack), n1 3. b's receipts "up to 2" cover m2, a's seq 3.
 */
function crossed(withRead: boolean): E[] {
  return [
    ...start(),
    ...send(100, 'a/d1', 'm1', 1),
    render(120, 'b/d1', 1, 'a', 'm1'),
    ...send(195, 'b/d1', 'n1', 3),
    ...send(200, 'a/d1', 'm2', 3),
    render(203, 'b/d1', 2, 'a', 'm2'),
    render(208, 'a/d1', 2, 'b', 'n1'),
    out(300, 'b/d1', 'delivered', 2),
    tick(320, 'a/d1', 'm1', 1, 'delivered'), tick(320, 'a/d1', 'm2', 3, 'delivered'),
    out(700, 'b/d1', 'read', 2),
    ...(withRead ? [tick(720, 'a/d1', 'm1', 1, 'read'), tick(720, 'a/d1', 'm2', 3, 'read')] : []),
    done(10_000),
  ].sort((x, y) => x.t - y.t);
}

function check(events: E[], capabilities: DriverCapabilities | undefined): Map<string, PropertyResult> {
  return new Map(checkHistory(events, { ...facts, driverCapabilities: capabilities }, { seed: 7, reproduce: 'chatsim run --seed 7' }).map((r) => [r.id, r]));
}
const verdicts = (r: Map<string, PropertyResult>): string[] => ['B3', 'B5', 'B7', 'B8'].map((id) => `${id}:${r.get(id)?.verdict}`);

describe('tick checkers without a server order compare receipts by message identity', () => {
  it('passes receipts that cover the ticked message on the reader device, at another number', () => {
    const r = check(crossed(true), perDevice);
    expect(verdicts(r), JSON.stringify([...r.values()].filter((x) => x.verdict === 'fail'))).toEqual(['B3:pass', 'B5:pass', 'B7:pass', 'B8:pass']);
    // The same history compared by position (a server-ordered driver) is the false fail seen against ejabberd.
    expect(check(crossed(true), undefined).get('B3')?.verdict).toBe('fail');
  });

  it('still fails B3 for a tick no receipt covers by identity, though a receipt number reaches its seq', () => {
    // m2 is still on its way to b, which numbers m1 1 and its own n1 2, n2 3: its "delivered up to 3"
    // covers m1 only, not a's m2 (a's seq 2).
    const events: E[] = [
      ...start(),
      ...send(100, 'a/d1', 'm1', 1),
      render(120, 'b/d1', 1, 'a', 'm1'),
      ...send(130, 'b/d1', 'n1', 2), ...send(140, 'b/d1', 'n2', 3),
      ...send(150, 'a/d1', 'm2', 2),
      out(300, 'b/d1', 'delivered', 3),
      tick(320, 'a/d1', 'm1', 1, 'delivered'), tick(320, 'a/d1', 'm2', 2, 'delivered'),
      done(10_000),
    ].sort((x, y) => x.t - y.t);
    const r = check(events, perDevice).get('B3');
    expect(r?.verdict).toBe('fail');
    expect(r!.examples.join('\n')).toContain('c1 seq 2 (m2) as delivered');
    // By position the receipt "up to 3" would have justified it: the false pass identity avoids.
    expect(check(events, undefined).get('B3')?.verdict).toBe('pass');
  });

  it('still fails B5 when a read receipt covers the message but the sender never shows it read', () => {
    const r = check(crossed(false), perDevice);
    expect(r.get('B3')?.verdict).toBe('pass');
    expect(r.get('B5')?.verdict).toBe('fail');
    expect(r.get('B5')!.examples.join('\n')).toContain('c1 seq 3 (m2) as delivered at the end');
  });
});
