import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import { breakdowns, filteredStats, timeSeries } from '../../simulator/metrics/tagBreakdown.ts';
import { taggedSamples } from '../../simulator/metrics/taggedSamples.ts';

const CHAT = 'd:u1:u2';
const context = {
  profileOfDevice: new Map([['u1/d1', 'good-4g'], ['u2/d1', 'subway']]),
  chatMembers: new Map([[CHAT, ['u1', 'u2']], ['g:1', Array.from({ length: 12 }, (_, i) => `u${i}`)]]),
  phases: [{ name: 'load' as const, startMs: 0, endMs: 20_000 }, { name: 'heal' as const, startMs: 20_000, endMs: 30_000 }],
  faults: [{ startMs: 8000, endMs: 9000 }],
};

/** u1 (good-4g) sends twice to u2 (subway): once while u2 is connected, once while u2's link is down (a tunnel). */
const HISTORY: HistoryEvent[] = [
  { t: 100, p: 'harness', type: 'oracle', what: 'link-up', device: 'u1/d1' },
  { t: 100, p: 'harness', type: 'oracle', what: 'link-up', device: 'u2/d1' },
  { t: 200, p: 'u1/d1', type: 'connect', gateway: 'gw1' },
  { t: 210, p: 'u2/d1', type: 'connect', gateway: 'gw2' },
  { t: 1000, p: 'u1/d1', type: 'invoke', op: 'send', chat: CHAT, clientMsgId: 'm1', body: 'x' },
  { t: 1050, p: 'u1/d1', type: 'ok', op: 'send', chat: CHAT, clientMsgId: 'm1', seq: 1, msgId: 'a' },
  { t: 1100, p: 'u2/d1', type: 'render', chat: CHAT, seq: 1, from: 'u1', clientMsgId: 'm1', via: 'push', storedAt: 1040 },
  { t: 5000, p: 'harness', type: 'oracle', what: 'link-down', device: 'u2/d1' },
  { t: 8500, p: 'u1/d1', type: 'invoke', op: 'send', chat: CHAT, clientMsgId: 'm2', body: 'y' },
  { t: 8560, p: 'u1/d1', type: 'ok', op: 'send', chat: CHAT, clientMsgId: 'm2', seq: 2, msgId: 'b' },
  { t: 8560, p: 'u1/d1', type: 'ok', op: 'send', chat: CHAT, clientMsgId: 'm2', seq: 2, msgId: 'b' },
  { t: 12_000, p: 'u2/d1', type: 'disconnect', code: 4408, reason: 'heartbeat' },
  { t: 25_000, p: 'harness', type: 'oracle', what: 'link-up', device: 'u2/d1' },
  { t: 25_100, p: 'u2/d1', type: 'connect', gateway: 'gw1' },
  { t: 25_300, p: 'u2/d1', type: 'render', chat: CHAT, seq: 2, from: 'u1', clientMsgId: 'm2', via: 'sync' },
  { t: 26_000, p: 'u1/d1', type: 'tick', chat: CHAT, clientMsgId: 'm1', seq: 1, tick: 'read' },
];

describe('tagged samples', () => {
  const samples = taggedSamples(HISTORY, context);

  it('tags a send with its sender\'s profile, gateway, chat, phase and connection when the clock started; one ack per send', () => {
    const acks = samples.filter((s) => s.metric === 'sendToAck');
    expect(acks.map((s) => s.value)).toEqual([50, 60]);
    expect(acks[0]!.tags).toEqual({ profile: 'good-4g', chat: 'direct', size: '2', gateway: 'gw1', phase: 'load', connected: 'true' });
    expect(acks[1]!.tags.phase).toBe('fault');
  });

  it('tags a delivery with the recipient as it stood at the send: a tunnel is connected:false, even before the phone noticed', () => {
    const deliveries = samples.filter((s) => s.metric === 'sendToDelivered');
    expect(deliveries.map((s) => [s.value, s.tags.profile, s.tags.gateway, s.tags.connected])).toEqual([[100, 'subway', 'gw2', 'true'], [16_800, 'subway', 'gw2', 'false']]);
  });

  it('gives fan-out (stored to last push) and sendToRead their samples', () => {
    expect(samples.filter((s) => s.metric === 'fanOut').map((s) => [s.value, s.tags])).toEqual([[60, { chat: 'direct', size: '2', phase: 'load' }]]);
    expect(samples.filter((s) => s.metric === 'sendToRead').map((s) => s.value)).toEqual([25_000]);
  });

  it('breaks stats down per tag value, with null (not 0) where a slice has no samples, and filters on several tags', () => {
    const b = breakdowns(samples);
    expect(b.sendToDelivered['connected:true']!.p99).toBe(100);
    expect(b.sendToDelivered['connected:false']!.p99).toBe(16_800);
    expect(b.sendToDelivered.all!.count).toBe(2);
    expect(filteredStats(samples, 'sendToDelivered', { profile: 'subway', connected: 'true' }).max).toBe(100);
    expect(filteredStats(samples, 'sendToDelivered', { profile: 'good-4g' })).toMatchObject({ count: 0, p95: null, max: null });
  });

  it('puts each sample in the second it completed, every second from 0 present', () => {
    const points = timeSeries(samples, 27);
    expect(points).toHaveLength(28);
    expect(points[1]!.metrics.sendToAck!.all).toEqual({ count: 1, p50: 50, p95: 50, p99: 50, max: 50 });
    expect(points[25]!.metrics.sendToDelivered!['connected:false']!.count).toBe(1);
    expect(points[3]!.metrics).toEqual({});
  });
});
