import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { observeHistoryLatencies } from '../../simulator/metrics/historyLatencies.ts';

describe('observeHistoryLatencies', () => {
  it('measures send to render per recipient device and fan-out to the last push render per message', () => {
    const events: HistoryEvent[] = [
      { t: 100, p: 'alice/d1', type: 'invoke', op: 'send', chat: 'g', clientMsgId: 'm1', body: 'x' },
      { t: 180, p: 'alice/d1', type: 'ok', op: 'send', chat: 'g', clientMsgId: 'm1', seq: 1, msgId: 'g:1' },
      { t: 200, p: 'bob/d1', type: 'render', chat: 'g', seq: 1, from: 'alice', clientMsgId: 'm1', via: 'push', storedAt: 150 },
      { t: 260, p: 'carol/d1', type: 'render', chat: 'g', seq: 1, from: 'alice', clientMsgId: 'm1', via: 'push', storedAt: 150 },
      // carol's second device was offline: it syncs much later; that is its delivery, not the fan-out.
      { t: 5100, p: 'carol/d2', type: 'render', chat: 'g', seq: 1, from: 'alice', clientMsgId: 'm1', via: 'sync', storedAt: 150 },
      // a render of a message whose send is not in the history (before the run) has no send time.
      { t: 300, p: 'bob/d1', type: 'render', chat: 'g', seq: 0, from: 'dave', clientMsgId: 'old', via: 'sync' },
    ];
    const samples: Array<[string, number, number]> = [];
    observeHistoryLatencies(events, 1_000_000, { observeAt: (metric, value, at) => samples.push([metric, value, at]) });
    expect(samples.filter((s) => s[0] === 'sendToDelivered').map((s) => s[1])).toEqual([100, 160, 5000]);
    expect(samples.filter((s) => s[0] === 'fanOut')).toEqual([['fanOut', 110, 1_000_260]]);
    expect(samples.find((s) => s[0] === 'sendToDelivered')![2]).toBe(1_000_200);
  });
});
