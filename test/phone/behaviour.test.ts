// PhoneBehaviour: Poisson sends, foreground share, typing, body sizes, determinism, stop().
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { PhoneBehaviour, type BehaviourProfile } from '../../simulator/phone/PhoneBehaviour.ts';
import { makePhone, startReady } from './fixtures.ts';

const PROFILE: BehaviourProfile = { messagesPerMinute: 6, foregroundShare: 0.3, typingShare: 0.5, bodyBytes: { min: 10, max: 40 } };

function run(seed: number, minutes: number, profile = PROFILE) {
  const rig = makePhone();
  const conn = startReady(rig);
  const behaviour = new PhoneBehaviour(rig.phone, profile, rig.time, new SeededRandom(seed));
  behaviour.start();
  let foregroundSeconds = 0;
  for (let s = 0; s < minutes * 60; s++) {
    rig.time.advance(1_000);
    if (rig.phone.state().foreground) foregroundSeconds++;
    // The fake server answers heartbeats and acks every send, so the link stays up.
    conn.push({ type: 'pong' });
    for (const send of conn.ofType('send')) if (rig.phone.store.outbox.get(send.clientMsgId)?.state === 'pending') {
      conn.push({ type: 'sent', ref: send.clientMsgId, chat: send.chat, seq: rig.phone.store.timeline(send.chat).watermark + 1, msgId: 'm', ts: 0 });
    }
  }
  expect(conn.state).toBe('open');
  return { rig, conn, behaviour, foregroundShare: foregroundSeconds / (minutes * 60) };
}

describe('PhoneBehaviour', () => {
  it('sends at about messagesPerMinute with bodies in range, types before some sends, and spends about foregroundShare in the foreground', () => {
    const { rig, conn, foregroundShare } = run(11, 120);
    const invokes = rig.ofType('invoke').filter((e) => e.op === 'send');
    expect(invokes.length).toBeGreaterThan(6 * 120 * 0.85);
    expect(invokes.length).toBeLessThan(6 * 120 * 1.15);
    for (const e of invokes) {
      expect(e.body.length).toBeGreaterThanOrEqual(10);
      expect(e.body.length).toBeLessThanOrEqual(40);
    }
    expect(conn.ofType('typing').length).toBeGreaterThan(invokes.length * 0.2);
    expect(foregroundShare).toBeGreaterThan(0.15);
    expect(foregroundShare).toBeLessThan(0.45);
  });

  it('is deterministic for a seed', () => {
    const a = run(5, 10).rig.ofType('invoke').map((e) => e.t);
    const b = run(5, 10).rig.ofType('invoke').map((e) => e.t);
    const c = run(6, 10).rig.ofType('invoke').map((e) => e.t);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('stop() ends all activity', () => {
    const { rig, behaviour } = run(3, 5);
    behaviour.stop();
    const sends = rig.ofType('invoke').length;
    rig.time.advance(600_000);
    expect(rig.ofType('invoke')).toHaveLength(sends);
  });

  it('never reads with foregroundShare 0', () => {
    const { conn } = run(9, 10, { ...PROFILE, foregroundShare: 0 });
    expect(conn.ofType('read')).toHaveLength(0);
    expect(conn.ofType('typing').filter((f) => f.read !== undefined)).toHaveLength(0);
  });
});
