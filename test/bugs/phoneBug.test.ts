// The one phone-side bug: the read debounce swallows the trailing receipt of a burst.
import { describe, expect, it } from 'vitest';
import { phoneOptionsForBugs } from '../../simulator/bugs/phoneBugOptions.ts';
import { CHAT, makePhone, message, startReady } from '../phone/fixtures.ts';

/** A burst of three messages inside one debounce window, then a long quiet time. */
function readsAfterBurst(swallowTrailingReceipt: boolean): unknown[] {
  const rig = makePhone({ readDebounceMs: 500, swallowTrailingReceipt });
  const conn = startReady(rig);
  rig.phone.setForeground(true);
  rig.phone.openChat(CHAT);
  conn.push(message(1));
  rig.time.advance(100);
  conn.push(message(2));
  rig.time.advance(100);
  conn.push(message(3));
  rig.time.advance(60_000);
  expect(rig.ofType('render').map((e) => e.seq)).toEqual([1, 2, 3]);
  return conn.ofType('read');
}

describe('bug swallow-trailing-receipt', () => {
  it('correct phone: one read receipt covering the whole burst', () => {
    expect(readsAfterBurst(false)).toEqual([{ type: 'read', chat: CHAT, upTo: 3 }]);
  });

  it('bugged phone: only the receipt for the message that opened the window goes out, never the trailing one', () => {
    expect(readsAfterBurst(true)).toEqual([{ type: 'read', chat: CHAT, upTo: 1 }]);
  });
});

describe('phone options from a bug set', () => {
  it('switches the phone bug on only when named', () => {
    const none = { swallowTrailingReceipt: false, noReconnectOnGoingAway: false, renderDuplicatePush: false, renderOutOfOrderPush: false, freshInstallStaleWatermark: false, wallClockPresence: false };
    expect(phoneOptionsForBugs(new Set())).toEqual(none);
    expect(phoneOptionsForBugs(new Set(['no-dedupe']))).toEqual(none);
    expect(phoneOptionsForBugs(new Set(['swallow-trailing-receipt']))).toEqual({ ...none, swallowTrailingReceipt: true });
    expect(phoneOptionsForBugs(new Set(['no-reconnect-on-going-away']))).toEqual({ ...none, noReconnectOnGoingAway: true });
    expect(phoneOptionsForBugs(new Set(['render-duplicate-push']))).toEqual({ ...none, renderDuplicatePush: true });
    expect(phoneOptionsForBugs(new Set(['render-out-of-order-push']))).toEqual({ ...none, renderOutOfOrderPush: true });
    expect(phoneOptionsForBugs(new Set(['fresh-install-stale-watermark']))).toEqual({ ...none, freshInstallStaleWatermark: true });
    expect(phoneOptionsForBugs(new Set(['phone-wall-clock-presence']))).toEqual({ ...none, wallClockPresence: true });
  });
});
