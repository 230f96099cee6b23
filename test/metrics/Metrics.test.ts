import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { Metrics } from '../../simulator/metrics/Metrics.ts';
import { LogBuckets } from '../../simulator/metrics/LogBuckets.ts';

const START_MS = 1_700_000_000_000;

describe('Metrics histograms', () => {
  it('gives percentiles of 1..1000 within HDR precision (3 significant digits)', () => {
    const metrics = new Metrics(new ManualTime(START_MS));
    for (let v = 1; v <= 1000; v++) metrics.observe('sendToAck', v);
    const h = metrics.snapshot().histograms.sendToAck;
    expect(h.count).toBe(1000);
    expect(h.min).toBe(1);
    expect(h.max).toBe(1000);
    expect(h.mean).toBeCloseTo(500.5, 0);
    expect(h.p50).toBeCloseTo(500, -1);
    expect(Math.abs(h.p99 - 990)).toBeLessThanOrEqual(1);
    expect(Math.abs(h['p99.9'] - 999)).toBeLessThanOrEqual(1);
    expect(h.p90).toBeLessThanOrEqual(h.p95);
    expect(h.buckets.reduce((n, b) => n + b.count, 0)).toBe(1000);
  });

  it('clamps samples into 0..1 h and rounds to whole ms', () => {
    const metrics = new Metrics(new ManualTime(START_MS));
    metrics.observe('reconnect', -5);
    metrics.observe('reconnect', 10_000_000);
    metrics.observe('reconnect', 2.4);
    const h = metrics.snapshot().histograms.reconnect;
    expect(h.count).toBe(3);
    expect(h.min).toBe(0);
    expect(h.max).toBeGreaterThanOrEqual(3_600_000);
    expect(h.max).toBeLessThan(3_700_000);
  });

  it('reports empty histograms as zeros with count 0', () => {
    const h = new Metrics(new ManualTime(START_MS)).snapshot().histograms.fanOut;
    expect(h).toMatchObject({ count: 0, p99: 0, max: 0, buckets: [] });
  });

  it('back-fills suppressed samples for closed-loop callers', () => {
    const metrics = new Metrics(new ManualTime(START_MS));
    metrics.observeWithExpectedInterval('sendToAck', 1000, 100);
    const h = metrics.snapshot().histograms.sendToAck;
    expect(h.count).toBe(10); // 1000, 900, ..., 100
    expect(h.min).toBe(100);
    expect(h.buckets.reduce((n, b) => n + b.count, 0)).toBe(10);
  });
});

describe('Metrics counters and timeline', () => {
  it('counts by name and per second since the start', () => {
    const time = new ManualTime(START_MS);
    const metrics = new Metrics(time);
    metrics.increment('messages.sent');
    metrics.increment('messages.sent', 2);
    metrics.observe('sendToDelivered', 40);
    time.advance(1500);
    metrics.increment('messages.delivered', 5);
    metrics.increment('errors.RATE_LIMITED');
    metrics.increment('frames.out.send', 3);
    metrics.observe('sendToDelivered', 80);
    metrics.observe('sendToAck', 10);
    const snap = metrics.snapshot();
    expect(snap.counters).toMatchObject({ 'messages.sent': 3, 'messages.delivered': 5, 'errors.RATE_LIMITED': 1, 'frames.out.send': 3 });
    expect(snap.timeline).toHaveLength(2);
    expect(snap.timeline[0]).toMatchObject({ tMs: 0, sent: 3, delivered: 0, errors: 0, sendToAckP50Ms: null, sendToAckP99Ms: null });
    expect(snap.timeline[0]!.sendToDeliveredP50Ms).toBeCloseTo(40, -1);
    expect(snap.timeline[1]).toMatchObject({ tMs: 1000, sent: 0, delivered: 5, errors: 1 });
    expect(snap.timeline[1]!.sendToDeliveredP99Ms).toBe(80); // HDR, exact to 3 significant digits
    expect(snap.timeline[1]!.sendToAckP99Ms).toBeCloseTo(10, 0);
  });

  it('takes the start from the constructor or setStartMs', () => {
    const time = new ManualTime(START_MS);
    const metrics = new Metrics(time, START_MS - 2000);
    metrics.increment('messages.sent');
    expect(metrics.snapshot().timeline[0]!.tMs).toBe(2000);
    metrics.setStartMs(START_MS + 1000);
    expect(metrics.snapshot().timeline[0]!.tMs).toBe(-1000);
    expect(metrics.snapshot().startMs).toBe(START_MS + 1000);
  });
});

describe('Metrics merge across workers', () => {
  it('encode/addEncoded equals recording everything in one', () => {
    const time = new ManualTime(START_MS);
    const all = new Metrics(time, START_MS);
    const workers = [new Metrics(time, START_MS), new Metrics(time, START_MS), new Metrics(time, START_MS)];
    for (let i = 0; i < 3000; i++) {
      const worker = workers[i % 3]!;
      const value = (i * 7919) % 5000;
      for (const m of [all, worker]) {
        m.observe(i % 2 === 0 ? 'sendToAck' : 'sendToDelivered', value);
        m.observe('syncMessages', i % 17);
        m.increment('messages.sent');
        if (i % 5 === 0) m.increment(`errors.E${i % 3}`);
      }
      if (i % 100 === 0) time.advance(700);
    }
    const merged = new Metrics(time, START_MS);
    for (const w of workers) merged.addEncoded(w.encode());
    expect(merged.snapshot()).toEqual(all.snapshot());
  });

  it('adopts the earliest start of workers when its own was implicit', () => {
    const time = new ManualTime(START_MS);
    const worker = new Metrics(time);
    worker.increment('messages.sent');
    time.advance(5000);
    const main = new Metrics(time);
    main.addEncoded(worker.encode());
    expect(main.snapshot().startMs).toBe(START_MS);
    expect(main.snapshot().timeline[0]!.tMs).toBe(0);
  });

  it('rejects an unknown encoding version', () => {
    const metrics = new Metrics(new ManualTime(START_MS));
    expect(() => metrics.addEncoded(JSON.stringify({ v: 99 }))).toThrow(/version/);
  });
});

describe('LogBuckets', () => {
  it('puts zeros apart and draws bars from the lowest to the highest sample', () => {
    const b = new LogBuckets(40);
    b.add(0);
    for (let v = 1; v <= 100; v++) b.add(v);
    expect(b.bars()[0]).toEqual({ lowMs: 0, highMs: 1, count: 1 });
    expect(b.bars().reduce((n, bar) => n + bar.count, 0)).toBe(101);
    expect(new LogBuckets(10).bars()).toEqual([]);
  });
});
