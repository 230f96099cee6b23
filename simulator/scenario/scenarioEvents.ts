import type { Scenario } from './Scenario.ts';

/**
 * Scenario events (issue 14, "the scenario language, widened"): what users and their phones do
 * at scenario times besides the steady load, played by both engines through the cluster's own
 * API and the phones' own actions (simulator/engine/EventPlayer.ts). A target left out (group,
 * user, device) is drawn from the run's seed when the event plays, among those it can apply to.
 *
 * - membership: `join-group` (a member adds a friend who is not in the group:
 *   POST /v1/chats/:id/members), `leave-group` (a member removes themselves), `kick-member`
 *   (a member removes another: DELETE /v1/chats/:id/members/:user);
 * - device lifecycle: `add-device` (the user logs in on one more device, which starts with an
 *   empty local store), `logout-device` (the device closes its connection and is gone),
 *   `reinstall-device` (the device is gone and the app, freshly installed, logs in as a new
 *   device with an empty local store and syncs from scratch);
 * - targeted and correlated load: `tunnel` (every phone of a network profile goes offline at
 *   once for forMs), `burst` (`messages` sends from `phones` phones within withinMs), `hot-chat`
 *   (for forMs each send of a member of the group goes to it with probability share).
 */
export type ScenarioEvent =
  | { atMs: number; kind: 'join-group'; group?: number; user?: string }
  | { atMs: number; kind: 'leave-group'; group?: number; user?: string }
  | { atMs: number; kind: 'kick-member'; group?: number; user?: string }
  | { atMs: number; kind: 'add-device'; user?: string }
  | { atMs: number; kind: 'logout-device'; device?: string }
  | { atMs: number; kind: 'reinstall-device'; device?: string }
  | { atMs: number; kind: 'tunnel'; profile: string; forMs: number }
  | { atMs: number; kind: 'burst'; messages: number; phones: number; withinMs: number }
  | { atMs: number; kind: 'hot-chat'; group?: number; share: number; forMs: number };

type Raw = Record<string, unknown>;

/** One validated YAML event (the schema checked the shape) with durations in ms. */
export function scenarioEventOf(e: Raw, durationMs: (value: unknown) => number): ScenarioEvent {
  const atMs = durationMs(e.atMs);
  const group = e.group === undefined ? {} : { group: e.group as number };
  const user = e.user === undefined ? {} : { user: e.user as string };
  const device = e.device === undefined ? {} : { device: e.device as string };
  switch (e.kind as ScenarioEvent['kind']) {
    case 'join-group':
    case 'leave-group':
    case 'kick-member':
      return { atMs, kind: e.kind as 'join-group', ...group, ...user };
    case 'add-device': return { atMs, kind: 'add-device', ...user };
    case 'logout-device':
    case 'reinstall-device':
      return { atMs, kind: e.kind as 'logout-device', ...device };
    case 'tunnel': return { atMs, kind: 'tunnel', profile: e.profile as string, forMs: durationMs(e.forMs) };
    case 'burst': return { atMs, kind: 'burst', messages: e.messages as number, phones: e.phones as number, withinMs: durationMs(e.withinMs) };
    case 'hot-chat': return { atMs, kind: 'hot-chat', share: e.share as number, forMs: durationMs(e.forMs), ...group };
  }
}

/** What the schema cannot say about events: times, group indexes, users and profiles that exist. */
export function scenarioEventErrors(s: Scenario): Array<{ path: string; message: string }> {
  const errors: Array<{ path: string; message: string }> = [];
  const profiles = new Set(s.network.map((n) => n.profile.name));
  const userOk = (u: string): boolean => /^u\d+$/.test(u) && Number(u.slice(1)) < s.population.users;
  s.events.forEach((e, i) => {
    const at = `events[${i}]`;
    if (e.atMs >= s.durationMs) errors.push({ path: `${at}.atMs`, message: `${e.atMs} ms is not before the end of the load (durationMs ${s.durationMs} ms)` });
    if ('group' in e && e.group !== undefined && e.group >= s.population.groups.count) errors.push({ path: `${at}.group`, message: `group ${e.group} does not exist: population.groups.count is ${s.population.groups.count} (indexes from 0)` });
    if ((e.kind === 'join-group' || e.kind === 'leave-group' || e.kind === 'kick-member' || e.kind === 'hot-chat') && s.population.groups.count === 0) errors.push({ path: `${at}.kind`, message: `${e.kind} needs a group: population.groups.count is 0` });
    if ('user' in e && e.user !== undefined && !userOk(e.user)) errors.push({ path: `${at}.user`, message: `user ${e.user} does not exist: users are u0..u${s.population.users - 1}` });
    if ('device' in e && e.device !== undefined && !/^u\d+\/[A-Za-z0-9_-]+$/.test(e.device)) errors.push({ path: `${at}.device`, message: `"${e.device}" is not a device: write user/device, e.g. u3/d1` });
    if (e.kind === 'tunnel' && !profiles.has(e.profile)) errors.push({ path: `${at}.profile`, message: `no phone is on profile "${e.profile}": the network section names ${[...profiles].join(', ')}` });
  });
  return errors;
}
