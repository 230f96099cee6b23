import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { ShapedTransport, type LinkOptions, type OracleWhat, type StallWhat } from '../../simulator/network/ShapedTransport.ts';
import { builtinProfile } from '../../simulator/scenario/builtinProfiles.ts';
import type { NetworkProfileSpec } from '../../simulator/scenario/Scenario.ts';
import { FakeInnerTransport } from './FakeInnerTransport.ts';

function profile(overrides: Partial<NetworkProfileSpec> = {}): NetworkProfileSpec {
  return { ...builtinProfile('loopback'), name: 'test', ...overrides };
}

function setup(p: NetworkProfileSpec, seed = 1, options: Partial<LinkOptions> = {}) {
  const time = new ManualTime();
  const t0 = time.nowMs();
  const inner = new FakeInnerTransport();
  const oracle: Array<{ what: OracleWhat; atMs: number }> = [];
  const dials: number[] = [];
  const networkBack: number[] = [];
  const stalls: Array<{ what: StallWhat; atMs: number }> = [];
  const net = new ShapedTransport({
    inner, profile: p, time, random: new SeededRandom(seed), device: 'u1/d1', options,
    onOracle: (device, what, atMs) => { expect(device).toBe('u1/d1'); oracle.push({ what, atMs: atMs - t0 }); },
    onDial: (device, atMs) => { expect(device).toBe('u1/d1'); dials.push(atMs - t0); },
    onNetworkBack: (device, atMs) => { expect(device).toBe('u1/d1'); networkBack.push(atMs - t0); },
    onStall: (device, what, atMs) => { expect(device).toBe('u1/d1'); stalls.push({ what, atMs: atMs - t0 }); },
  });
  const phone = { opened: 0, frames: [] as Array<{ text: string; atMs: number }>, closes: [] as Array<{ code: number; reason: string; atMs: number }> };
  const open = () => net.open('ws://x', 'tok', {
    onOpen: () => { phone.opened++; },
    onFrame: (text) => phone.frames.push({ text, atMs: time.nowMs() - t0 }),
    onClose: (code, reason) => phone.closes.push({ code, reason, atMs: time.nowMs() - t0 }),
  });
  /** Opens a link and lets the (fake) server accept it; returns it once the phone has seen it open. */
  const connect = () => {
    const link = open();
    inner.last.accept();
    time.advance(0);
    return link;
  };
  /** Advances in `stepMs` steps until `done()`; fails the test if it never happens. */
  const until = (done: () => boolean, stepMs = 10, limitMs = 60 * 60_000) => {
    for (let waited = 0; !done(); waited += stepMs) {
      if (waited > limitMs) throw new Error('condition never met');
      time.advance(stepMs);
    }
  };
  return { time, inner, net, oracle, dials, networkBack, stalls, phone, open, connect, until, elapsed: () => time.nowMs() - t0 };
}

const texts = (frames: Array<{ text: string }>) => frames.map((f) => f.text);
const range = (n: number, prefix = '') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('ShapedTransport: latency and bandwidth', () => {
  it('delays every frame by at least the base latency and keeps order under jitter, both ways', () => {
    const s = setup(profile({ latencyMs: { base: 100, jitter: 50 } }));
    const link = s.open();
    s.inner.last.accept();
    s.time.advance(99);
    expect(s.phone.opened).toBe(0); // the open travels too
    s.time.advance(2000);
    expect(s.phone.opened).toBe(1);

    const pushedAtMs = s.elapsed();
    for (const text of range(50)) s.inner.last.push(text);
    s.time.advance(99);
    expect(s.phone.frames).toHaveLength(0);
    s.time.advance(2000);
    expect(texts(s.phone.frames)).toEqual(range(50));
    expect(Math.min(...s.phone.frames.map((f) => f.atMs - pushedAtMs))).toBeGreaterThanOrEqual(100);
    // Pushed at one instant, FIFO lets each frame out only after the slowest before it: arrival
    // times are the running maximum of the delays, spread out but never reordered.
    expect(new Set(s.phone.frames.map((f) => f.atMs)).size).toBeGreaterThan(1);

    for (const text of range(20, 'out')) link.send(text);
    s.time.advance(99);
    expect(s.inner.last.received).toHaveLength(0);
    s.time.advance(2000);
    expect(s.inner.last.received).toEqual(range(20, 'out'));
    expect(s.net.stats().framesDelayed).toBe(70);
  });

  it('jitter is a long right tail above the base: never below base, mean about base + jitter', () => {
    const s = setup(profile({ latencyMs: { base: 40, jitter: 20 } }));
    s.connect();
    s.time.advance(1000);
    // One frame at a time, so FIFO never holds one back behind a slower predecessor.
    const delays: number[] = [];
    for (let i = 0; i < 400; i++) {
      const before = s.phone.frames.length;
      const atMs = s.elapsed();
      s.inner.last.push(`f${i}`);
      s.until(() => s.phone.frames.length > before, 1);
      delays.push(s.elapsed() - atMs);
    }
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(40);
    expect(mean).toBeGreaterThan(52);
    expect(mean).toBeLessThan(68);
    expect(Math.max(...delays)).toBeGreaterThan(100); // the tail
    expect(Math.max(...delays)).toBeLessThanOrEqual(40 + 8 * 20 + 1); // capped
  });

  it('spaces frames by size over the bandwidth, each way', () => {
    const s = setup(profile({ bandwidthBytesPerSec: 1000 }));
    const link = s.connect();
    link.send('x'.repeat(500));
    link.send('y'.repeat(500));
    s.inner.last.push('z'.repeat(250));
    s.time.advance(249);
    expect(s.phone.frames).toHaveLength(0);
    s.time.advance(1);
    expect(s.phone.frames).toHaveLength(1); // the other direction has its own queue
    s.time.advance(249);
    expect(s.inner.last.received).toHaveLength(0);
    s.time.advance(1);
    expect(s.inner.last.received).toHaveLength(1);
    s.time.advance(499);
    expect(s.inner.last.received).toHaveLength(1);
    s.time.advance(1);
    expect(s.inner.last.received.map((r) => r[0])).toEqual(['x', 'y']);
  });

  it("queues the phone's close behind its frames and delivers the server's answer after the latency", () => {
    const s = setup(profile({ latencyMs: { base: 30, jitter: 0 } }));
    const link = s.connect();
    s.time.advance(100);
    link.send('last words');
    link.close(1000, 'bye');
    expect(link.isOpen).toBe(false);
    link.send('too late');
    s.time.advance(29);
    expect(s.inner.last.state).toBe('open');
    s.time.advance(1);
    expect(s.inner.last.received).toEqual(['last words']);
    expect(s.inner.last.state).toBe('closed');
    s.time.advance(29);
    expect(s.phone.closes).toHaveLength(0);
    s.time.advance(1);
    expect(s.phone.closes).toEqual([{ code: 1000, reason: 'bye', atMs: s.elapsed() }]);
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up', 'link-down']);
  });
});

describe('ShapedTransport: faults', () => {
  it('a stall holds frames both ways and releases them in order, without a disconnection', () => {
    const s = setup(profile({ stallsPerMinute: 2, stallMs: { min: 3000, max: 3000 } }));
    const link = s.connect();
    s.until(() => s.net.stats().stalls === 1);
    // The stall began within the last 10 ms step, so it holds at least until now + 2990.
    for (const text of range(3, 'in')) s.inner.last.push(text);
    for (const text of range(3, 'out')) link.send(text);
    s.time.advance(2985);
    expect(s.phone.frames).toHaveLength(0);
    expect(s.inner.last.received).toHaveLength(0);
    expect(link.isOpen).toBe(true);
    s.time.advance(20);
    expect(texts(s.phone.frames)).toEqual(range(3, 'in'));
    expect(s.inner.last.received).toEqual(range(3, 'out'));
    expect(s.phone.closes).toHaveLength(0);
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up']); // a stall is not a disconnection
    // ... but it is reported apart: its start, and its end when the held frames moved.
    expect(s.stalls.map((o) => o.what)).toEqual(['stall-start', 'stall-end']);
    expect(s.stalls[1]!.atMs - s.stalls[0]!.atMs).toBe(3000);
    expect(s.phone.frames[0]!.atMs).toBeGreaterThanOrEqual(s.stalls[1]!.atMs);
  });

  it('reports one start and one end per frozen stretch: a stall inside another extends it', () => {
    const s = setup(profile({ stallsPerMinute: 30, stallMs: { min: 4000, max: 4000 } }), 5);
    s.connect();
    s.until(() => s.net.stats().stalls >= 40);
    s.net.heal();
    const whats = s.stalls.map((o) => o.what);
    // Alternating, starting with a start and ending with an end (the heal ends one still on).
    expect(whats.every((w, i) => w === (i % 2 === 0 ? 'stall-start' : 'stall-end'))).toBe(true);
    expect(whats.at(-1)).toBe('stall-end');
    // At 30 stalls a minute of 4 s each, some began inside another: fewer stretches than stalls.
    expect(whats.length / 2).toBeLessThan(s.net.stats().stalls);
    for (let i = 1; i < s.stalls.length; i += 2) expect(s.stalls[i]!.atMs - s.stalls[i - 1]!.atMs).toBeGreaterThanOrEqual(i === s.stalls.length - 1 ? 0 : 4000);
  });

  it('half-open drops frames both ways without closing; an abort tells the phone at once but the socket lingers', () => {
    const s = setup(profile({ halfOpenPerMinute: 6 }), 3, { lingerMs: 45_000 });
    const link = s.connect();
    s.until(() => s.net.stats().halfOpens === 1);
    const downAtMs = s.elapsed();
    link.send('ping');
    s.inner.last.push('pong');
    s.time.advance(30_000);
    expect(s.inner.last.received).toEqual([]);
    expect(s.phone.frames).toEqual([]);
    expect(s.phone.closes).toEqual([]);
    expect(link.isOpen).toBe(true);
    expect(s.net.stats().framesDropped).toBe(2);
    expect(s.oracle).toEqual([{ what: 'link-up', atMs: 0 }, { what: 'link-down', atMs: expect.closeTo(downAtMs, -1.5) }]);

    link.abort(); // the phone's heartbeat gave up
    s.time.advance(0);
    expect(s.phone.closes).toEqual([expect.objectContaining({ code: 1006 })]);
    expect(s.inner.last.state).toBe('open'); // the server has heard nothing
    s.time.advance(44_999);
    expect(s.inner.last.state).toBe('open');
    s.time.advance(1);
    expect(s.inner.last.aborted).toBe(true); // the linger ran out
    expect(s.phone.closes).toHaveLength(1);
  });

  it('on a half-open link the server closing is not heard by the phone, which finds out by its own abort', () => {
    const s = setup(profile({ halfOpenPerMinute: 6 }), 3);
    const link = s.connect();
    s.until(() => s.net.stats().halfOpens === 1);
    s.inner.last.serverClose(4408, 'heartbeat timeout');
    s.time.advance(10_000);
    expect(s.phone.closes).toEqual([]);
    expect(link.isOpen).toBe(true);
    link.abort();
    s.time.advance(0);
    expect(s.phone.closes).toEqual([expect.objectContaining({ code: 1006 })]);
    s.net.dispose();
    expect(s.time.pendingCount()).toBe(0);
  });

  it('a reset closes both ends at once and loses the frames in flight', () => {
    const s = setup(profile({ resetsPerMinute: 10, latencyMs: { base: 500, jitter: 0 } }), 4);
    s.connect();
    s.time.advance(500);
    expect(s.phone.opened).toBe(1);
    // Keep a frame in flight at all times, so the reset surely catches one.
    s.until(() => { if (s.inner.last.isOpen) s.inner.last.push('x'); return s.net.stats().resets === 1; }, 100);
    const resetAtMs = s.elapsed();
    s.time.advance(0);
    expect(s.inner.last.aborted).toBe(true);
    expect(s.phone.closes).toEqual([{ code: 1006, reason: 'connection reset', atMs: expect.closeTo(resetAtMs, -2.5) }]);
    s.time.advance(1000);
    expect(s.net.stats().framesDropped).toBeGreaterThan(0);
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up', 'link-down']);
  });

  it('an offline window closes the link for the phone, fails connects during it, and lets them through after', () => {
    const s = setup(profile({ offlinePerMinute: 1, offlineMs: { min: 10_000, max: 10_000 } }), 6, { offlineConnectFailMs: 300 });
    s.connect();
    s.until(() => s.net.stats().offlineWindows === 1, 100);
    const offlineAtMs = s.elapsed();
    expect(s.phone.closes).toEqual([expect.objectContaining({ code: 1006, reason: 'offline' })]);
    expect(s.phone.closes[0]!.atMs).toBeGreaterThan(offlineAtMs - 100); // at once, within the step it began in
    expect(s.inner.last.state).toBe('open'); // the server holds a half-open socket
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up', 'link-down']);

    const linksBefore = s.inner.links.length;
    s.open();
    s.time.advance(299);
    expect(s.phone.closes).toHaveLength(1); // failing takes a moment, never synchronous
    s.time.advance(1);
    expect(s.phone.closes.at(-1)).toMatchObject({ code: 1006, reason: 'offline' });
    expect(s.inner.links.length).toBe(linksBefore); // no route: nothing reached the server
    expect(s.dials).toHaveLength(linksBefore); // and no attempt is reported as reaching it

    expect(s.networkBack).toEqual([]);
    s.time.advance(offlineAtMs + 10_000 - s.elapsed());
    expect(s.net.stats().offlineWindows).toBe(1); // precondition: no second window began meanwhile
    // The OS's connectivity callback, once, when the window ends (a phone in backoff retries on it).
    expect(s.networkBack).toHaveLength(1);
    expect(s.networkBack[0]).toBeGreaterThan(offlineAtMs + 10_000 - 100);
    s.connect();
    expect(s.inner.links.length).toBe(linksBefore + 1);
    expect(s.phone.opened).toBe(2);
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up', 'link-down', 'link-up']);
    expect(s.dials).toHaveLength(s.inner.links.length); // each attempt that reached the server, once
  });

  it('a network switch tells the phone to reconnect while the old socket stays half-open', () => {
    const s = setup(profile({ switchesPerMinute: 3 }), 6);
    s.connect();
    const old = s.inner.last;
    s.until(() => s.net.stats().switches === 1, 100);
    s.time.advance(0);
    expect(s.phone.closes).toEqual([expect.objectContaining({ code: 1006, reason: 'network switch' })]);
    const fresh = s.connect();
    expect(s.inner.links).toHaveLength(2);
    expect(old.state).toBe('open'); // the server briefly holds two connections for the device
    fresh.send('hello again');
    old.push('to the old path');
    s.time.advance(1);
    expect(s.inner.last.received).toEqual(['hello again']);
    expect(old.received).toEqual([]);
    expect(texts(s.phone.frames)).toEqual([]);
    old.serverClose(4408, 'heartbeat timeout'); // the gateway's sweep finds the old one
    s.time.advance(1);
    expect(s.phone.closes).toHaveLength(1);
    expect(fresh.isOpen).toBe(true);
    expect(s.oracle.map((o) => o.what)).toEqual(['link-up', 'link-down', 'link-up']);
  });
});

describe('ShapedTransport: heal, dispose, determinism', () => {
  it('heal aborts a half-open link and lingering sockets, schedules no more faults, and keeps latency', () => {
    const s = setup(profile({ latencyMs: { base: 20, jitter: 0 }, halfOpenPerMinute: 30 }), 7);
    const first = s.connect();
    s.time.advance(20);
    s.until(() => s.net.stats().halfOpens === 1);
    first.abort();
    s.time.advance(0);
    const lingering = s.inner.last;
    const second = s.connect();
    s.time.advance(20);
    s.until(() => s.net.stats().halfOpens === 2);
    s.net.heal();
    expect(lingering.state).toBe('closed'); // the path is back: the server's next packet meets a reset
    expect(s.inner.last.aborted).toBe(true); // the half-open current link: both ends see it
    s.time.advance(0);
    expect(s.phone.closes.at(-1)).toMatchObject({ code: 1006, reason: 'network healed' });
    expect(second.isOpen).toBe(false);

    const again = s.open();
    s.inner.last.accept();
    s.time.advance(10 * 60_000);
    expect(s.net.stats().halfOpens).toBe(2);
    again.send('x');
    s.time.advance(19);
    expect(s.inner.last.received).toEqual([]);
    s.time.advance(1);
    expect(s.inner.last.received).toEqual(['x']);
  });

  it('heal ends a stall and an offline window at once', () => {
    const stalled = setup(profile({ stallsPerMinute: 2, stallMs: { min: 60_000, max: 60_000 } }), 9);
    stalled.connect();
    stalled.until(() => stalled.net.stats().stalls === 1);
    stalled.inner.last.push('held');
    stalled.time.advance(1000);
    expect(stalled.phone.frames).toEqual([]);
    stalled.net.heal();
    stalled.time.advance(0);
    expect(texts(stalled.phone.frames)).toEqual(['held']);
    expect(stalled.stalls.map((o) => o.what)).toEqual(['stall-start', 'stall-end']);
    expect(stalled.stalls[1]!.atMs - stalled.stalls[0]!.atMs).toBeLessThan(60_000);

    const offline = setup(profile({ offlinePerMinute: 2, offlineMs: { min: 60_000, max: 60_000 } }), 9);
    offline.connect();
    offline.until(() => offline.net.stats().offlineWindows === 1);
    offline.net.heal();
    offline.connect();
    expect(offline.phone.opened).toBe(2);
  });

  it('dispose cancels every timer, drops every socket, and calls no handler afterwards', () => {
    const s = setup(builtinProfile('subway-commuter'), 8);
    s.connect();
    s.until(() => s.net.stats().switches + s.net.stats().offlineWindows > 0, 1000);
    s.time.advance(0);
    s.connect();
    s.inner.last.push('in flight');
    s.net.dispose();
    s.open(); // after dispose: fails silently, schedules nothing
    const closes = s.phone.closes.length;
    expect(s.time.pendingCount()).toBe(0);
    expect(s.inner.links.every((l) => l.state === 'closed')).toBe(true);
    s.time.advance(10 * 60_000);
    expect(s.phone.closes).toHaveLength(closes);
  });

  it('keeps only armed timers for dispose(): a cancelled one (a re-armed wake, an extended stall) is forgotten', () => {
    const s = setup(profile({ latencyMs: { base: 50, jitter: 20 } }), 9);
    const link = s.open();
    s.inner.last.accept();
    s.time.advance(2000);
    expect(s.phone.opened).toBe(1);
    for (let i = 0; i < 2000; i++) {
      link.send(`m${i}`);
      s.inner.last.push(`r${i}`);
      s.time.advance(1); // frames due 50+ ms out: each send re-arms a wake timer
    }
    expect(s.net.stats().framesDelayed).toBeGreaterThan(1000);
    expect(s.net.pendingTimerCount()).toBeLessThan(20);
    expect(s.net.pendingTimerCount()).toBe(s.time.pendingCount());
  });

  /**
   * Ten minutes of a phone on the subway: it sends and gets `perSecond` frames a second,
   * aborts after 5 s without hearing anything (its heartbeat) and reconnects whenever closed.
   */
  function commute(seed: number, perSecond: number) {
    const s = setup(builtinProfile('subway-commuter'), seed);
    let link = s.connect();
    let heardAtMs = 0;
    for (let i = 0; i < 600 * perSecond; i++) {
      link.send(`m${i}`);
      if (s.inner.last.isOpen) s.inner.last.push(`r${i}`);
      const before = s.phone.frames.length;
      s.time.advance(1000 / perSecond);
      if (s.phone.frames.length > before) heardAtMs = s.elapsed();
      if (link.isOpen && s.elapsed() - heardAtMs > 5000) link.abort();
      s.time.advance(0);
      if (s.phone.closes.length > 0) {
        s.phone.closes.length = 0;
        link = s.open();
        heardAtMs = s.elapsed();
        if (s.inner.last.state === 'connecting') s.inner.last.accept();
      }
    }
    return { stats: s.net.stats(), oracle: s.oracle };
  }

  it('draws the same fault schedule from the same seed, and another from another seed', () => {
    const a = commute(11, 1);
    expect(commute(11, 1)).toEqual(a);
    expect(commute(12, 1)).not.toEqual(a);
    expect(a.oracle.length).toBeGreaterThan(4); // the subway did something
  });

  it('draws faults independently of the traffic: stalls and offline windows do not move', () => {
    const pick = ({ stats }: ReturnType<typeof commute>) => ({ stalls: stats.stalls, offlineWindows: stats.offlineWindows });
    const quiet = commute(13, 1);
    const busy = commute(13, 5);
    expect(busy.stats.framesDelayed).toBeGreaterThan(quiet.stats.framesDelayed);
    expect(pick(busy)).toEqual(pick(quiet));
    expect(pick(quiet).stalls + pick(quiet).offlineWindows).toBeGreaterThan(0);
  });

  it('reports the oracle as alternating up/down, starting with up, in time order', () => {
    for (const seed of [21, 22, 23]) {
      const { oracle } = commute(seed, 1);
      oracle.forEach((o, i) => expect(o.what).toBe(i % 2 === 0 ? 'link-up' : 'link-down'));
      for (let i = 1; i < oracle.length; i++) expect(oracle[i]!.atMs).toBeGreaterThanOrEqual(oracle[i - 1]!.atMs);
    }
  });
});
