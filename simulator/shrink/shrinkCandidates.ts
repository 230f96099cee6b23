import type { Scenario } from '../scenario/Scenario.ts';

/** One way to make a scenario smaller, with a name for the shrink log. */
export interface Candidate {
  what: string;
  scenario: Scenario;
}

/** Shortest load a shrink tries (ms); shorter runs rarely leave room for any failure. */
export const SHRINK_DURATION_MS_MIN = 2_000;
/** Populations smaller than this try every smaller user count, not only halving and one less. */
export const SHRINK_EVERY_USER_COUNT_BELOW = 16;
/** Shortest heal a shrink tries (ms): liveness properties need the phones to settle. */
export const SHRINK_HEAL_MS_MIN = 5_000;

const LINK_FAULT_RATES = ['stallsPerMinute', 'halfOpenPerMinute', 'resetsPerMinute', 'offlinePerMinute', 'switchesPerMinute'] as const;

/**
 * Smaller variants of a scenario, biggest cuts first: fewer faults, phones, chats, messages,
 * link faults, servers and less time. The shrinker keeps the first variant that still fails the
 * same property and asks again, so the order decides how fast it converges, not where.
 */
/** Scenario events that need a group. */
const GROUP_EVENTS = new Set(['join-group', 'leave-group', 'kick-member', 'hot-chat']);

export function shrinkCandidates(s: Scenario): Candidate[] {
  const out: Candidate[] = [];
  const add = (what: string, edit: (c: Scenario) => void): void => {
    const c = structuredClone(s);
    edit(c);
    fitRamp(c);
    out.push({ what, scenario: c });
  };
  s.faults.forEach((f, i) => add(`drop fault ${i} (${f.kind} at ${f.atMs} ms)`, (c) => { c.faults.splice(i, 1); }));
  s.events.forEach((e, i) => add(`drop event ${i} (${e.kind} at ${e.atMs} ms)`, (c) => { c.events.splice(i, 1); }));
  const users = s.population.users;
  // Fewer users redraws the population (who is in which chat), so the failure may hinge on a
  // particular count: small populations try every smaller count, smallest first.
  if (users > SHRINK_EVERY_USER_COUNT_BELOW) {
    for (const k of new Set([Math.floor(users / 4), Math.floor(users / 2), Math.floor((users * 3) / 4), users - 2, users - 1])) {
      if (k >= 2) add(`users ${users} -> ${k}`, (c) => { c.population.users = k; });
    }
  } else {
    for (let k = 2; k < users; k++) add(`users ${users} -> ${k}`, (c) => { c.population.users = k; });
  }
  if (s.population.devices.some((d) => d.devices > 1)) add('one device per user', (c) => { c.population.devices = [{ devices: 1, share: 1 }]; });
  if (s.durationMs > SHRINK_DURATION_MS_MIN) {
    const next = Math.max(SHRINK_DURATION_MS_MIN, Math.round(s.durationMs / 2 / 100) * 100);
    add(`load ${s.durationMs} ms -> ${next} ms`, (c) => { c.durationMs = next; c.faults = c.faults.filter((f) => f.atMs < next); c.events = c.events.filter((e) => e.atMs < next); });
  }
  if (s.population.groups.count > 0) {
    add(`groups ${s.population.groups.count} -> 0`, (c) => { c.population.groups.count = 0; c.events = c.events.filter((e) => !GROUP_EVENTS.has(e.kind)); if (c.population.directChatsPerUser === 0) c.population.directChatsPerUser = 1; });
    if (s.population.groups.count > 1) add(`groups ${s.population.groups.count} -> ${Math.floor(s.population.groups.count / 2)}`, (c) => { c.population.groups.count = Math.floor(s.population.groups.count / 2); });
    const size = s.population.groups.size;
    if (size.max > size.min) add(`group size max ${size.max} -> ${Math.max(size.min, Math.floor(size.max / 2))}`, (c) => { c.population.groups.size.max = Math.max(size.min, Math.floor(size.max / 2)); });
  }
  if (s.population.directChatsPerUser > 1 || (s.population.directChatsPerUser > 0 && s.population.groups.count > 0)) {
    add(`direct chats per user ${s.population.directChatsPerUser} -> ${s.population.directChatsPerUser - 1}`, (c) => { c.population.directChatsPerUser -= 1; });
  }
  if (s.population.friendsPerUser > 0) add(`friends per user ${s.population.friendsPerUser} -> ${s.population.friendsPerUser - 1}`, (c) => { c.population.friendsPerUser -= 1; });
  if (s.load.messagesPerMinute > 1) add(`messages per minute ${s.load.messagesPerMinute} -> ${Math.max(1, Math.floor(s.load.messagesPerMinute / 2))}`, (c) => { c.load.messagesPerMinute = Math.max(1, Math.floor(s.load.messagesPerMinute / 2)); });
  if (s.load.typingShare > 0) add('no typing', (c) => { c.load.typingShare = 0; });
  s.network.forEach((n, i) => {
    for (const rate of LINK_FAULT_RATES) {
      if (n.profile[rate] > 0) add(`${n.profile.name}: ${rate} ${n.profile[rate]} -> 0`, (c) => { c.network[i]!.profile[rate] = 0; });
    }
  });
  if (s.network.length > 1) {
    s.network.forEach((n, i) => add(`drop link profile ${n.profile.name}`, (c) => {
      c.network.splice(i, 1);
      const total = c.network.reduce((sum, x) => sum + x.share, 0);
      for (const x of c.network) x.share = x.share / total;
    }));
  }
  if (s.cluster.gateways > 1) add(`gateways ${s.cluster.gateways} -> 1`, (c) => { c.cluster.gateways = 1; c.faults = c.faults.filter((f) => !('gateway' in f) || f.gateway === undefined || f.gateway < 1); });
  if (s.cluster.chatServers > 1) add(`chat servers ${s.cluster.chatServers} -> 1`, (c) => { c.cluster.chatServers = 1; c.faults = c.faults.filter((f) => !('chatServer' in f) || (f as { chatServer: number }).chatServer < 1); });
  if (s.healMs > SHRINK_HEAL_MS_MIN) add(`heal ${s.healMs} ms -> ${Math.max(SHRINK_HEAL_MS_MIN, Math.round(s.healMs / 2))} ms`, (c) => { c.healMs = Math.max(SHRINK_HEAL_MS_MIN, Math.round(s.healMs / 2)); });
  return out;
}

/** Phones expected from the population (users times the mean devices per user). */
export function expectedPhones(s: Scenario): number {
  const meanDevices = s.population.devices.reduce((sum, d) => sum + d.devices * d.share, 0);
  return Math.max(1, Math.round(s.population.users * meanDevices));
}

/** Ramp targets follow the population (the last stage connects every phone), group sizes the users. */
function fitRamp(s: Scenario): void {
  const phones = expectedPhones(s);
  const last = s.load.ramp[s.load.ramp.length - 1];
  if (last) {
    const factor = phones / Math.max(1, last.target);
    for (const stage of s.load.ramp) stage.target = Math.max(1, Math.round(stage.target * factor));
    last.target = phones;
    for (const stage of s.load.ramp) stage.durationMs = Math.min(stage.durationMs, s.durationMs);
  }
  const size = s.population.groups.size;
  size.max = Math.min(size.max, s.population.users);
  size.min = Math.min(size.min, size.max);
}
