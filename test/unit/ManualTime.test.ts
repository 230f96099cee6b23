import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';

describe('ManualTime', () => {
  it('fires timers in due order, same-instant timers in scheduling order', () => {
    const time = new ManualTime(0);
    const fired: string[] = [];
    time.schedule(20, () => fired.push('b'));
    time.schedule(10, () => fired.push('a1'));
    time.schedule(10, () => fired.push('a2'));
    const cancelled = time.schedule(15, () => fired.push('never'));
    cancelled.cancel();
    time.advance(19);
    expect(fired).toEqual(['a1', 'a2']);
    expect(time.nowMs()).toBe(19);
    time.advance(1);
    expect(fired).toEqual(['a1', 'a2', 'b']);
  });

  it('repeats `every` until cancelled, and sees the time of each firing', () => {
    const time = new ManualTime(0);
    const seen: number[] = [];
    const handle = time.every(100, () => seen.push(time.nowMs()));
    time.advance(350);
    handle.cancel();
    time.advance(1000);
    expect(seen).toEqual([100, 200, 300]);
  });
});

describe('SeededRandom', () => {
  it('is deterministic per seed and forks independently of consumption', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    expect([a.nextFloat(), a.nextFloat()]).toEqual([b.nextFloat(), b.nextFloat()]);
    const forkAfter = a.fork('phone-1').nextFloat();
    const forkFresh = new SeededRandom(42).fork('phone-1').nextFloat();
    expect(forkAfter).toBe(forkFresh);
    expect(new SeededRandom(42).fork('phone-2').nextFloat()).not.toBe(forkFresh);
  });

  it('stays in range', () => {
    const r = new SeededRandom(7);
    for (let i = 0; i < 10_000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      const n = r.nextInt(6);
      expect(Number.isInteger(n) && n >= 0 && n < 6).toBe(true);
    }
  });

  it('fires one instant at a time: timers scheduled during it for the same instant wait for the next call', () => {
    const time = new ManualTime(0);
    const fired: string[] = [];
    time.schedule(10, () => { fired.push('a'); time.schedule(0, () => fired.push('a-follow-up')); });
    time.schedule(10, () => fired.push('b'));
    time.schedule(30, () => fired.push('c'));
    expect(time.nextDueMs()).toBe(10);
    expect(time.fireNextInstant(100)).toBe(true);
    expect(fired).toEqual(['a', 'b']);
    expect(time.nowMs()).toBe(10);
    expect(time.fireNextInstant(100)).toBe(true);
    expect(fired).toEqual(['a', 'b', 'a-follow-up']);
    expect(time.fireNextInstant(20)).toBe(false);
    expect(time.pendingCount()).toBe(1);
    time.jumpTo(20);
    expect(time.nowMs()).toBe(20);
  });

  it('keeps due order across many timers (heap), cancelled ones skipped', () => {
    const time = new ManualTime(0);
    const random = new SeededRandom(3);
    const fired: number[] = [];
    const handles = Array.from({ length: 2_000 }, () => {
      const due = random.nextInt(1_000);
      return { due, handle: time.schedule(due, () => fired.push(due)) };
    });
    handles.filter((_, i) => i % 7 === 0).forEach((h) => h.handle.cancel());
    time.advance(1_000);
    const expected = handles.filter((_, i) => i % 7 !== 0).map((h) => h.due).sort((a, b) => a - b);
    expect(fired).toEqual(expected);
    expect(time.pendingCount()).toBe(0);
  });
});
