import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { buildPopulation } from '../../simulator/engine/buildPopulation.ts';
import { startTimesMs } from '../../simulator/engine/assignPhones.ts';

const spec = {
  users: 300, devices: [{ devices: 1, share: 0.7 }, { devices: 2, share: 0.3 }], directChatsPerUser: 3,
  groups: { count: 10, size: { min: 3, max: 40 } }, friendsPerUser: 4,
};

describe('buildPopulation', () => {
  it('is a pure function of the spec and seed', () => {
    expect(buildPopulation(spec, new SeededRandom(9))).toEqual(buildPopulation(spec, new SeededRandom(9)));
    expect(buildPopulation(spec, new SeededRandom(9))).not.toEqual(buildPopulation(spec, new SeededRandom(10)));
  });

  it('draws the requested shape: device shares, distinct direct chats, group sizes, symmetric friendships', () => {
    const p = buildPopulation(spec, new SeededRandom(3));
    expect(p.users).toHaveLength(300);
    const twoDevices = p.users.filter((u) => u.devices.length === 2).length;
    expect(twoDevices).toBeGreaterThan(300 * 0.2);
    expect(twoDevices).toBeLessThan(300 * 0.4);
    const direct = p.chats.filter((c) => c.kind === 'direct');
    expect(direct).toHaveLength(450);
    expect(new Set(direct.map((c) => c.id)).size).toBe(direct.length);
    for (const c of direct) expect(c.members[0]! < c.members[1]!).toBe(true);
    const groups = p.chats.filter((c) => c.kind === 'group');
    expect(groups).toHaveLength(10);
    for (const g of groups) {
      expect(g.members.length).toBeGreaterThanOrEqual(3);
      expect(g.members.length).toBeLessThanOrEqual(40);
      expect(new Set(g.members).size).toBe(g.members.length);
    }
    expect(p.friendships).toHaveLength(600);
    expect(p.friendships.every(([a, b]) => a !== b)).toBe(true);
  });
});

describe('startTimesMs', () => {
  it('closed model: ramps reach each stage target by the stage end', () => {
    const times = startTimesMs({ model: 'closed', ramp: [{ durationMs: 1000, target: 100 }, { durationMs: 1000, target: 300 }], arrival: [], messagesPerMinute: 1, foregroundShare: 1, typingShare: 0, bodyBytes: { min: 1, max: 1 } }, 300, new SeededRandom(1));
    expect(times).toHaveLength(300);
    expect(times.filter((t) => t <= 1000)).toHaveLength(100);
    expect(Math.max(...times)).toBeLessThanOrEqual(2000);
  });

  it('open model: arrivals follow the rate, roughly', () => {
    const times = startTimesMs({ model: 'open', ramp: [], arrival: [{ durationMs: 10_000, ratePerSec: 50 }], messagesPerMinute: 1, foregroundShare: 1, typingShare: 0, bodyBytes: { min: 1, max: 1 } }, 1000, new SeededRandom(1));
    const inStage = times.filter((t) => t < 10_000).length;
    expect(inStage).toBeGreaterThan(400);
    expect(inStage).toBeLessThan(600);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
