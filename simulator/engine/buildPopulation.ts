import type { Random } from '../../server/ports/Random.ts';
import type { PopulationSpec } from '../scenario/Scenario.ts';

export interface PopulationUser {
  id: string;
  devices: string[];
}

export interface PopulationChat {
  id: string;
  kind: 'direct' | 'group';
  name: string;
  members: string[];
}

export interface Population {
  users: PopulationUser[];
  chats: PopulationChat[];
  friendships: Array<[string, string]>;
}

/**
 * Draws users, devices, chats and friendships from the run's seed. Pure: the same spec and
 * seed give the same population, and each part draws from its own forked stream.
 */
export function buildPopulation(spec: PopulationSpec, random: Random): Population {
  const users = drawUsers(spec, random.fork('devices'));
  const ids = users.map((u) => u.id);
  return {
    users,
    chats: [...drawDirectChats(ids, spec.directChatsPerUser, random.fork('direct')), ...drawGroups(ids, spec.groups, random.fork('groups'))],
    friendships: drawFriendships(ids, spec.friendsPerUser, random.fork('friends')),
  };
}

function drawUsers(spec: PopulationSpec, random: Random): PopulationUser[] {
  const users: PopulationUser[] = [];
  for (let i = 0; i < spec.users; i++) {
    const count = pickByShare(spec.devices.map((d) => ({ value: d.devices, share: d.share })), random);
    users.push({ id: `u${i}`, devices: Array.from({ length: count }, (_, d) => `d${d + 1}`) });
  }
  return users;
}

function drawDirectChats(ids: string[], perUser: number, random: Random): PopulationChat[] {
  if (ids.length < 2) return [];
  const seen = new Set<string>();
  const chats: PopulationChat[] = [];
  // Each user starts perUser/2 chats on average; the other half come from others' choices.
  const target = Math.round((ids.length * perUser) / 2);
  for (let attempts = 0; chats.length < target && attempts < target * 4; attempts++) {
    const a = ids[random.nextInt(ids.length)]!;
    const b = ids[random.nextInt(ids.length)]!;
    if (a === b) continue;
    const [x, y] = a < b ? [a, b] : [b, a];
    const id = `d:${x}:${y}`;
    if (seen.has(id)) continue;
    seen.add(id);
    chats.push({ id, kind: 'direct', name: `${x} & ${y}`, members: [x, y] });
  }
  return chats;
}

function drawGroups(ids: string[], groups: PopulationSpec['groups'], random: Random): PopulationChat[] {
  const chats: PopulationChat[] = [];
  for (let g = 0; g < groups.count; g++) {
    const size = Math.min(ids.length, groups.size.min + random.nextInt(groups.size.max - groups.size.min + 1));
    chats.push({ id: `g:${g}`, kind: 'group', name: `group ${g}`, members: sample(ids, size, random) });
  }
  return chats;
}

function drawFriendships(ids: string[], perUser: number, random: Random): Array<[string, string]> {
  const seen = new Set<string>();
  const pairs: Array<[string, string]> = [];
  const target = Math.round((ids.length * perUser) / 2);
  for (let attempts = 0; pairs.length < target && attempts < target * 4; attempts++) {
    const a = ids[random.nextInt(ids.length)]!;
    const b = ids[random.nextInt(ids.length)]!;
    if (a === b) continue;
    const key = a < b ? `${a} ${b}` : `${b} ${a}`;
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push([a, b]);
  }
  return pairs;
}

/** `size` distinct elements, by a partial Fisher-Yates shuffle of a copy. */
function sample<T>(items: readonly T[], size: number, random: Random): T[] {
  const copy = [...items];
  for (let i = 0; i < size; i++) {
    const j = i + random.nextInt(copy.length - i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, size);
}

export function pickByShare<T>(options: ReadonlyArray<{ value: T; share: number }>, random: Random): T {
  let x = random.nextFloat();
  for (const option of options) {
    x -= option.share;
    if (x < 0) return option.value;
  }
  return options[options.length - 1]!.value;
}

/** Friend lists by user, both ways, from the population's friendship pairs. */
export function friendsOfUsers(population: Population): Map<string, string[]> {
  const friends = new Map<string, string[]>();
  const add = (user: string, friend: string): void => {
    const list = friends.get(user);
    if (list) list.push(friend);
    else friends.set(user, [friend]);
  };
  for (const [a, b] of population.friendships) {
    add(a, b);
    add(b, a);
  }
  return friends;
}
