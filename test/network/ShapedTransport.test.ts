import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { ShapedTransport, type OracleWhat } from '../../simulator/network/ShapedTransport.ts';
import { builtinProfile } from '../../simulator/scenario/builtinProfiles.ts';
import type { NetworkProfileSpec } from '../../simulator/scenario/Scenario.ts';
import { FakeInnerTransport } from './FakeInnerTransport.ts';

function profile(overrides: Partial<NetworkProfileSpec> = {}): NetworkProfileSpec {
  return { ...builtinProfile('loopback'), name: 'test', ...overrides };
}

function setup(p: NetworkProfileSpec, seed = 1) {
  const time = new ManualTime();
  const inner = new FakeInnerTransport();
  const oracle: Array<{ what: OracleWhat; atMs: number }> = [];
  const net = new ShapedTransport({ inner, profile: p, time, random: new SeededRandom(seed), device: 'u1/d1', onOracle: (_d, what, atMs) => oracle.push({ what, atMs: atMs - t0 }) });
  const t0 = time.nowMs();
  const phone = { opened: 0, frames: [] as Array<{ text: string; atMs: number }>, closes: [] as Array<{ code: number; reason: string; atMs: number }> };
  const open = () => net.open('ws://x', 'tok', {
    onOpen: () => { phone.opened++; },
    onFrame: (text) => phone.frames.push({ text, atMs: time.nowMs() - t0 }),
    onClose: (code, reason) => phone.closes.push({ code, reason, atMs: time.nowMs() - t0 }),
  });
  return { time, inner, net, oracle, phone, open, elapsed: () => time.nowMs() - t0 };
}

describe('ShapedTransport', () => {
  it('delays every frame by at least the base latency and keeps order under jitter', () => {
    const s = setup(profile({ latencyMs: { base: 100, jitter: 50 } }));
    const link = s.open();
    s.inner.last.accept();
    s.time.advance(2000);
    expect(s.phone.opened).toBe(1);
    for (let i = 0; i < 50; i++) s.inner.last.push(String(i));
    s.time.advance(99);
    expect(s.phone.frames).toHaveLength(0);
    s.time.advance(2000);
    expect(s.phone.frames.map((f) => f.text)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(new Set(s.phone.frames.map((f) => f.atMs)).size).toBeGreaterThan(1); // jitter spread them
    for (let i = 0; i < 20; i++) link.send(`out${i}`);
    s.time.advance(99);
    expect(s.inner.last.received).toHaveLength(0);
    s.time.advance(2000);
    expect(s.inner.last.received).toEqual(Array.from({ length: 20 }, (_, i) => `out${i}`));
  });

  it('spaces frames by size over the bandwidth', () => {
    const s = setup(profile({ bandwidthBytesPerSec: 1000 }));
    const link = s.open();
    s.inner.last.accept();
    s.time.advance(1);
    link.send('x'.repeat(500));
    link.send('y'.repeat(500));
    s.time.advance(499);
    expect(s.inner.last.received).toHaveLength(0);
    s.time.advance(1);
    expect(s.inner.last.received).toHaveLength(1);
    s.time.advance(499);
    expect(s.inner.last.received).toHaveLength(1);
    s.time.advance(1);
    expect(s.inner.last.received).toHaveLength(2);
  });

  it('a stall holds frames both ways and releases them in order, without a disconnection', () => {
    const s = setup(profile({ stallsPerMinute: 2, stallMs: { min: 3000, max: 3000 } }));
    const link = s.open();
    s.inner.last.accept();
    s.time.advance(1);
    // Step until the first stall starts: sends stop going through.
    let stalledAtMs = -1;
    for (let i = 0; i < 20_000 && stalledAtMs < 0; i++) {
      const before = s.inner.last.received.length;
      link.send(`probe${i}`);
      s.time.advance(10);
      if (s.inner.last.received.length === before) stalledAtMs = s.elapsed();
    }
    expect(stalledAtMs).toBeGreaterThan(0);
    s.inner.last.push('during');
    link.send('after');
    s.time.advance(2500);
    expect(s.phone.frames.map((f) => f.text)).not.toContain('during');
    s.time.advance(600);
    expect(s.phone.frames.map((f) => f.text)).toContain('during');
    const received = s.inner.last.received;
    expect(received.slice(-2)).toEqual([received.at(-2), 'after']);
    expect(received.filter((r) => r.startsWith('probe')).map((r) => Number(r.slice(5)))).toEqual([...received.filter((r) => r.startsWith('probe')).map((r) => Number(r.slice(5)))].sort((a, b) => a - b));
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up']);
    expect(s.net.stats().stalls).toBeGreaterThan(0);
  });

  it('half-open drops frames both ways without closing; an abort tells the phone at once but the socket lingers', () => {
    const s = setup(profile({ halfOpenPerMinute: 6 }), 3);
    const link = s.open();
    s.inner.last.accept();
    s.time.advance(1);
    // Ping until a frame is lost: the link went half-open.
    let i = 0;
    for (; i < 10_000; i++) {
      link.send(`ping${i}`);
      s.time.advance(100);
      if (s.inner.last.received.length === i) break;
    }
    expect(s.net.stats().halfOpens).toBe(1);
    s.inner.last.push('pong');
    s.time.advance(1000);
    expect(s.phone.frames).toHaveLength(0);
    expect(s.phone.closes).toHaveLength(0);
    expect(link.isOpen).toBe(true);
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up', 'link-down']);

    link.abort();
    s.time.advance(0);
    expect(s.phone.closes).toEqual([expect.objectContaining({ code: 1006 })]);
    expect(s.inner.last.state).toBe('open'); // the server has not heard anything
    s.time.advance(60_000);
    expect(s.inner.last.aborted).toBe(true); // the linger ran out
    expect(s.phone.closes).toHaveLength(1);
  });

  it('a reset closes both ends', () => {
    const s = setup(profile({ resetsPerMinute: 10 }), 4);
    s.open();
    s.inner.last.accept();
    s.time.advance(60_000);
    expect(s.net.stats().resets).toBe(1);
    expect(s.inner.last.aborted).toBe(true);
    expect(s.phone.closes).toEqual([expect.objectContaining({ code: 1006 })]);
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up', 'link-down']);
  });

  it('an offline window closes the link for the phone, fails connects during it, and lets them through after', () => {
    const s = setup(profile({ offlinePerMinute: 2, offlineMs: { min: 10_000, max: 10_000 } }), 5);
    s.open();
    s.inner.last.accept();
    while (s.net.stats().offlineWindows === 0) s.time.advance(100);
    const offlineAtMs = s.elapsed();
    s.time.advance(0);
    expect(s.phone.closes.at(-1)).toMatchObject({ code: 1006, reason: 'offline' });
    expect(s.inner.last.state).toBe('open'); // server side half-open
    const linksBefore = s.inner.links.length;
    s.open();
    s.time.advance(1000);
    expect(s.inner.links.length).toBe(linksBefore); // no route: nothing reached the server
    expect(s.phone.closes.at(-1)).toMatchObject({ reason: 'offline' });
    s.time.advance(offlineAtMs + 10_000 - s.elapsed());
    s.open();
    expect(s.inner.links.length).toBe(linksBefore + 1);
    s.inner.last.accept();
    s.time.advance(1);
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up', 'link-down', 'link-up']);
  });

  it('a network switch tells the phone to reconnect while the old socket stays half-open', () => {
    const s = setup(profile({ switchesPerMinute: 3 }), 6);
    s.open();
    const old = s.inner.last;
    old.accept();
    while (s.net.stats().switches === 0) s.time.advance(100);
    s.time.advance(0);
    expect(s.phone.closes.at(-1)).toMatchObject({ code: 1006, reason: 'network switch' });
    const fresh = s.open();
    s.inner.last.accept();
    s.time.advance(1);
    expect(s.inner.links).toHaveLength(2);
    expect(old.state).toBe('open'); // the server briefly holds two connections for the device
    fresh.send('hello again');
    s.time.advance(1);
    expect(s.inner.last.received).toEqual(['hello again']);
    expect(old.received).toEqual([]);
    old.serverClose(4408, 'heartbeat timeout'); // the gateway's sweep finds the old one
    expect(s.phone.closes).toHaveLength(1);
  });

  it('heal ends faults at once and schedules no more; latency stays', () => {
    const s = setup(profile({ latencyMs: { base: 20, jitter: 0 }, halfOpenPerMinute: 30 }), 7);
    const link = s.open();
    s.inner.last.accept();
    while (s.net.stats().halfOpens === 0) s.time.advance(100);
    s.net.heal();
    s.time.advance(0);
    expect(s.phone.closes).toEqual([expect.objectContaining({ reason: 'network healed' })]);
    expect(link.isOpen).toBe(false);
    const again = s.open();
    s.inner.last.accept();
    s.time.advance(10 * 60_000);
    expect(s.net.stats().halfOpens).toBe(1);
    again.send('x');
    s.time.advance(19);
    expect(s.inner.last.received).toEqual([]);
    s.time.advance(1);
    expect(s.inner.last.received).toEqual(['x']);
  });

  it('draws the same fault schedule from the same seed, and another from another seed', () => {
    const schedule = (seed: number) => {
      const s = setup(builtinProfile('subway-commuter'), seed);
      s.open();
      s.inner.last.accept();
      for (let i = 0; i < 600; i++) {
        s.time.advance(1000);
        if (!s.inner.last.isOpen || s.phone.closes.length > 0) {
          s.phone.closes.length = 0;
          s.open();
          if (s.inner.last.state === 'connecting') s.inner.last.accept();
        }
      }
      return JSON.stringify({ stats: s.net.stats(), oracle: s.oracle });
    };
    expect(schedule(11)).toBe(schedule(11));
    expect(schedule(11)).not.toBe(schedule(12));
  });

  it('dispose cancels every timer and drops lingering sockets', () => {
    const s = setup(builtinProfile('flaky-3g'), 8);
    s.open();
    s.inner.last.accept();
    s.time.advance(1000);
    s.net.dispose();
    expect(s.time.pendingCount()).toBe(0);
    expect(s.inner.links.every((l) => l.state === 'closed')).toBe(true);
  });
});
