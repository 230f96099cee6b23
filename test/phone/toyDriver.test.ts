// The phone's driver seam: the same app model drives a second, toy protocol (test/phone/ToyDriver.ts)
// with no chatsim.v1 in sight. One phone sends, another receives; delivery receipts flow back
// as ticks; read markers, which the toy does not carry, never tick, and a checker asked about
// them answers unknown instead of failing.
import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { PropertyResult } from '../../simulator/check/PropertyResult.ts';
import { judgedIfCapable, missingCapabilityReason } from '../../simulator/drivers/DriverCapabilities.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { Phone } from '../../simulator/phone/Phone.ts';
import { RecordingMetrics } from './fixtures.ts';
import { TOY_CAPABILITIES, ToyDriver, ToyServer } from './ToyDriver.ts';

const CHAT = 'd:alice:bob';

function toyRig() {
  const time = new ManualTime();
  const server = new ToyServer(time, { [CHAT]: ['alice', 'bob'] });
  const events: HistoryEvent[] = [];
  const phoneOf = (user: string, seed: number) => new Phone({
    user, device: 'd1', token: 't', gatewayUrls: [`toy://${user}/d1`], chats: [{ id: CHAT, kind: 'direct', members: ['alice', 'bob'] }], friends: [],
    driver: new ToyDriver(server), time, random: new SeededRandom(seed), history: { record: (e) => events.push(e) }, metrics: new RecordingMetrics(), startMs: time.nowMs(),
  });
  const of = <T extends HistoryEvent['type']>(type: T, p: string) => events.filter((e) => e.type === type && e.p === p) as Array<Extract<HistoryEvent, { type: T }>>;
  return { time, server, alice: phoneOf('alice', 1), bob: phoneOf('bob', 2), of };
}

describe('a phone on a toy driver (the driver seam)', () => {
  it('connects, syncs and becomes ready through the toy protocol', () => {
    const { time, alice, bob, of } = toyRig();
    alice.start();
    bob.start();
    time.advance(100);
    expect(alice.state().phase).toBe('ready');
    expect(bob.state().phase).toBe('ready');
    expect(of('connect', 'alice/d1')).toHaveLength(1);
  });

  it('one phone sends, the other renders it in order, and delivery receipts tick the sender', () => {
    const { time, server, alice, bob, of } = toyRig();
    alice.start();
    bob.start();
    time.advance(100);
    const first = alice.send(CHAT, 'hello');
    const second = alice.send(CHAT, 'again');
    time.advance(1_000);
    expect(server.messages.get(CHAT)?.map((m) => m.body)).toEqual(['hello', 'again']);
    expect(of('render', 'bob/d1').map((e) => [e.seq, e.clientMsgId])).toEqual([[1, first], [2, second]]);
    const ticks = of('tick', 'alice/d1').map((e) => `${e.clientMsgId}:${e.tick}`);
    expect(ticks).toContain(`${first}:sent`);
    expect(ticks).toContain(`${first}:delivered`);
    expect(ticks).toContain(`${second}:delivered`);
    expect(server.heard).toContain('bob/d1 ack');
  });

  it('read markers, which the toy does not carry, never tick; a read-receipt property is unknown, not failed', () => {
    const { time, alice, bob, of } = toyRig();
    alice.start();
    bob.start();
    time.advance(100);
    bob.setForeground(true);
    bob.openChat(CHAT);
    alice.send(CHAT, 'read me');
    time.advance(5_000);
    expect(of('receipt-out', 'bob/d1').some((e) => e.kind === 'read')).toBe(true); // the app model still reads
    expect(of('tick', 'alice/d1').some((e) => e.tick === 'read')).toBe(false); // the protocol cannot say so
    const b6: PropertyResult = { id: 'B6', name: 'read debounce bound', verdict: 'fail', violations: 1, examples: ['no read tick'] };
    const judged = judgedIfCapable(b6, TOY_CAPABILITIES, ['readMarkers']);
    expect(judged.verdict).toBe('unknown');
    expect(judged.reason).toMatch(/readMarkers/);
    expect(missingCapabilityReason(TOY_CAPABILITIES, ['receipts', 'serverOrder'])).toBeUndefined();
  });

  it('a message sent while offline goes out at the next session, once (idempotent send)', () => {
    const { time, server, alice, bob, of } = toyRig();
    const id = alice.send(CHAT, 'queued');
    alice.start();
    bob.start();
    time.advance(2_000);
    expect(server.messages.get(CHAT)).toHaveLength(1);
    expect(of('ok', 'alice/d1').some((e) => e.op === 'send' && e.clientMsgId === id)).toBe(true);
    expect(of('render', 'bob/d1')).toHaveLength(1);
  });
});
