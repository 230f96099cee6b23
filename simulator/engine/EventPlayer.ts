import type { TimeSource } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import { DEFAULT_LIMITS } from '../../server/protocol/limits.ts';
import type { HistoryEvent } from '../history/HistoryEvent.ts';
import type { Scenario } from '../scenario/Scenario.ts';
import type { ScenarioEvent } from '../scenario/scenarioEvents.ts';
import { friendsOfUsers, pickByShare, type Population } from './buildPopulation.ts';
import { passwordOf, type ApiPort } from './provisionTarget.ts';
import type { WorkerPhoneSpec } from './workerProtocol.ts';

type ChatSpec = WorkerPhoneSpec['chats'][number];

/** What the event player asks of the phones: the simulation's PhoneFleet, or the live engine's workers. */
export interface FleetControl {
  addPhone(spec: WorkerPhoneSpec): void;
  logout(device: string): void;
  reinstall(device: string, spec: WorkerPhoneSpec): void;
  tunnel(profile: string, forMs: number): void;
  burst(sends: ReadonlyArray<{ device: string; messages: number }>, withinMs: number): void;
  hotChat(chat: string, share: number, forMs: number): void;
  membership(user: string, chat: ChatSpec, joined: boolean): void;
}

export interface EventPlayerConfig {
  scenario: Scenario;
  population: Population;
  /** Every phone of the run as assigned (start times, profiles, tokens). */
  phones: readonly WorkerPhoneSpec[];
  chatIds: Map<string, string>;
  api: ApiPort;
  fleet: FleetControl;
  time: TimeSource;
  /** The run's random stream for events (each event draws from its own fork). */
  random: Random;
  runStartEpochMs: number;
  /** Harness ground truth (oracle member events) into the history. */
  record(event: HistoryEvent): void;
  log(line: string): void;
}

/** Attempts of a membership change answered 5xx (undetermined) before the event is given up. */
const MEMBERSHIP_ATTEMPTS_MAX = 10;
/** Wait between those attempts. */
const MEMBERSHIP_RETRY_MS = 1000;

/**
 * Plays a scenario's events (simulator/scenario/scenarioEvents.ts) in either engine: membership
 * changes through the cluster's HTTP API as the members themselves would make them, new and
 * reinstalled devices logged in over the API, and the correlated load through the phones. It
 * keeps the current rosters and devices, so a target left out is drawn (from the event's own
 * fork of the seed) among those it can apply to when the event plays. Membership changes are
 * recorded as oracle events: `member` (a join, at the time the request went out, with the
 * joinedAtSeq the server answered) and `member-removed` (a leave or kick, at the time the
 * request went out, with `doneAtMs` when it was answered).
 */
export class EventPlayer {
  /** Group chat id -> current roster. */
  private readonly groups: ChatSpec[];
  private readonly friends: Map<string, string[]>;
  /** Devices running or still to start (not logged out), with their specs. */
  private readonly devices = new Map<string, WorkerPhoneSpec>();
  private readonly tokens = new Map<string, string>();
  private readonly timers: Array<{ cancel(): void }> = [];
  private addedDevices = 0;
  /** Phones the events started (added devices, fresh installs): the run's facts include them. */
  readonly added: WorkerPhoneSpec[] = [];
  private readonly devicesPerUserMax: number;

  constructor(private readonly config: EventPlayerConfig) {
    this.groups = config.population.chats.filter((c) => c.kind === 'group').map((c) => ({ id: config.chatIds.get(c.id) ?? c.id, kind: 'group', members: [...c.members] }));
    this.friends = friendsOfUsers(config.population);
    for (const spec of config.phones) {
      this.devices.set(`${spec.user}/${spec.device}`, spec);
      if (!this.tokens.has(spec.user)) this.tokens.set(spec.user, spec.token);
    }
    this.devicesPerUserMax = config.scenario.cluster.limits.devicesPerUserMax ?? DEFAULT_LIMITS.devicesPerUserMax;
  }

  /** Schedules every event at its time after the run start. */
  start(): void {
    const { time, runStartEpochMs, scenario } = this.config;
    scenario.events.forEach((event, i) => {
      this.timers.push(time.schedule(runStartEpochMs + event.atMs - time.nowMs(), () => {
        void this.play(event, this.config.random.fork(`event:${i}`)).catch((error: Error) => this.config.log(`event ${event.kind} at ${event.atMs} ms failed: ${error.message}`));
      }));
    });
  }

  /** End of the load: events not played yet never will be. */
  stop(): void {
    for (const t of this.timers) t.cancel();
  }

  /**
   * A membership change whose answer is a 5xx may or may not have happened (the server adds the
   * member, then fails writing the notices during a store outage, answering 503: swarm seed
   * 4603948, where a join answered 503 was in force and the joiner's pushes failed A10). Both
   * requests are idempotent, so it is asked again, every MEMBERSHIP_RETRY_MS, until answered
   * otherwise or MEMBERSHIP_ATTEMPTS_MAX attempts; `doneOnRetry` names answers that, after an
   * undetermined attempt, mean it was done.
   */
  private async untilDetermined(method: 'POST' | 'DELETE', path: string, body: unknown, headers: Record<string, string>, doneOnRetry: (status: number) => boolean): Promise<{ status: number; body: unknown; retried: boolean }> {
    let res = await this.config.api.request(method, path, body, headers);
    for (let attempt = 1; res.status >= 500 && attempt < MEMBERSHIP_ATTEMPTS_MAX; attempt++) {
      await new Promise<void>((resolve) => this.timers.push(this.config.time.schedule(MEMBERSHIP_RETRY_MS, resolve)));
      res = await this.config.api.request(method, path, body, headers);
      if (doneOnRetry(res.status)) return { ...res, retried: true };
    }
    return { ...res, retried: false };
  }

  private nowT(): number {
    return this.config.time.nowMs() - this.config.runStartEpochMs;
  }

  private async play(event: ScenarioEvent, r: Random): Promise<void> {
    switch (event.kind) {
      case 'join-group': return this.join(event, r);
      case 'leave-group':
      case 'kick-member': return this.remove(event, r);
      case 'add-device': return this.addDevice(event.user, r);
      case 'logout-device': {
        const device = event.device ?? this.drawRunning(r);
        if (!device || !this.devices.has(device)) return this.config.log(`event logout-device: no running device${event.device ? ` ${event.device}` : ''}`);
        this.devices.delete(device);
        this.config.log(`event: ${device} logs out`);
        return this.config.fleet.logout(device);
      }
      case 'reinstall-device': return this.reinstall(event.device, r);
      case 'tunnel':
        this.config.log(`event: every phone on ${event.profile} enters a tunnel for ${event.forMs} ms`);
        return this.config.fleet.tunnel(event.profile, event.forMs);
      case 'burst': return this.burst(event.messages, event.phones, event.withinMs, r);
      case 'hot-chat': {
        const group = this.groups[event.group ?? r.nextInt(this.groups.length)];
        if (!group) return;
        this.config.log(`event: ${group.id} is hot (share ${event.share}) for ${event.forMs} ms`);
        return this.config.fleet.hotChat(group.id, event.share, event.forMs);
      }
    }
  }

  private isFriend(a: string, b: string): boolean {
    return this.friends.get(a)?.includes(b) ?? false;
  }

  private async join(event: Extract<ScenarioEvent, { kind: 'join-group' }>, r: Random): Promise<void> {
    const groups = event.group !== undefined ? [this.groups[event.group]!] : shuffled(this.groups, r);
    for (const group of groups) {
      const candidates = event.user !== undefined ? [event.user] : this.config.population.users.map((u) => u.id).filter((u) => !group.members.includes(u));
      const joiner = candidates.find((u) => !group.members.includes(u) && group.members.some((m) => this.isFriend(m, u)));
      if (joiner === undefined) continue;
      const inviter = pick(r, group.members.filter((m) => this.isFriend(m, joiner)));
      const limit = this.config.scenario.cluster.limits.groupMembersMax ?? DEFAULT_LIMITS.groupMembersMax;
      if (group.members.length >= limit) continue;
      const t = this.nowT();
      const res = await this.untilDetermined('POST', `/v1/chats/${encodeURIComponent(group.id)}/members`, { user: joiner }, this.auth(inviter), () => false);
      if (res.status !== 200) return this.config.log(`event join-group: ${inviter} adding ${joiner} to ${group.id} got ${res.status}`);
      const view = res.body as { members?: Array<{ user: string; joinedAtSeq: number }> };
      const joinedAtSeq = view.members?.find((m) => m.user === joiner)?.joinedAtSeq ?? 0;
      group.members.push(joiner);
      this.config.record({ t, p: 'harness', type: 'oracle', what: 'member', chat: group.id, user: joiner, joinedAtSeq });
      this.config.log(`event: ${inviter} adds ${joiner} to ${group.id} (joinedAtSeq ${joinedAtSeq})`);
      this.config.fleet.membership(joiner, { ...group, members: [...group.members] }, true);
      return;
    }
    this.config.log('event join-group: no group has a member with a friend outside it');
  }

  private async remove(event: Extract<ScenarioEvent, { kind: 'leave-group' | 'kick-member' }>, r: Random): Promise<void> {
    const groups = event.group !== undefined ? [this.groups[event.group]!] : shuffled(this.groups, r);
    // A group keeps at least two members, so it still has someone to talk to.
    const group = groups.find((g) => g.members.length > 2 && (event.user === undefined || g.members.includes(event.user)));
    if (!group) return this.config.log(`event ${event.kind}: no group with more than two members${event.user ? ` holds ${event.user}` : ''}`);
    const user = event.user ?? pick(r, group.members);
    const by = event.kind === 'leave-group' ? user : pick(r, group.members.filter((m) => m !== user));
    const t = this.nowT();
    // A 404 after an undetermined attempt is that attempt's removal, seen by the retry.
    const res = await this.untilDetermined('DELETE', `/v1/chats/${encodeURIComponent(group.id)}/members/${encodeURIComponent(user)}`, undefined, this.auth(by), (status) => status === 404);
    if (res.status !== 204 && !(res.status === 404 && res.retried)) return this.config.log(`event ${event.kind}: ${by} removing ${user} from ${group.id} got ${res.status}`);
    group.members.splice(group.members.indexOf(user), 1);
    this.config.record({ t, p: 'harness', type: 'oracle', what: 'member-removed', chat: group.id, user, by, doneAtMs: this.nowT() });
    this.config.log(`event: ${by === user ? `${user} leaves` : `${by} removes ${user} from`} ${group.id}`);
    this.config.fleet.membership(user, group, false);
  }

  private async addDevice(user: string | undefined, r: Random): Promise<void> {
    const users = user !== undefined ? [user] : shuffled(this.config.population.users.map((u) => u.id), r);
    const who = users.find((u) => this.devicesOf(u).length < this.devicesPerUserMax - 1);
    if (who === undefined) return this.config.log('event add-device: every user is at the device limit');
    const spec = await this.login(who, `n${++this.addedDevices}`, r);
    if (!spec) return;
    this.config.log(`event: ${who} logs in on a new device ${spec.device}`);
    this.config.fleet.addPhone(spec);
  }

  private async reinstall(device: string | undefined, r: Random): Promise<void> {
    const old = device ?? this.drawRunning(r);
    const oldSpec = old === undefined ? undefined : this.devices.get(old);
    if (!old || !oldSpec) return this.config.log(`event reinstall-device: no running device${device ? ` ${device}` : ''}`);
    this.devices.delete(old);
    const spec = await this.login(oldSpec.user, `${oldSpec.device}r${++this.addedDevices}`, r, oldSpec.profile);
    if (!spec) return this.config.fleet.logout(old);
    this.config.log(`event: ${old} is reinstalled as ${spec.user}/${spec.device} (empty local store)`);
    this.config.fleet.reinstall(old, spec);
  }

  private async burst(messages: number, phones: number, withinMs: number, r: Random): Promise<void> {
    const running = shuffled(this.running(), r).slice(0, phones);
    if (running.length === 0) return;
    const sends = running.map((device, i) => ({ device, messages: Math.floor(messages / running.length) + (i < messages % running.length ? 1 : 0) })).filter((s) => s.messages > 0);
    this.config.log(`event: a burst of ${messages} sends from ${running.length} phones within ${withinMs} ms`);
    this.config.fleet.burst(sends, withinMs);
  }

  /** A new device of `user` logged in over the API, with the user's current chats. */
  private async login(user: string, device: string, r: Random, profile?: WorkerPhoneSpec['profile']): Promise<WorkerPhoneSpec | undefined> {
    const res = await this.config.api.request('POST', '/v1/login', { user, password: passwordOf(user), device });
    const body = (res.body ?? {}) as { token?: string };
    if (res.status !== 200 || !body.token) {
      this.config.log(`event: login of ${user}/${device} got ${res.status}`);
      return undefined;
    }
    const chats = this.config.phones.find((p) => p.user === user)?.chats.filter((c) => c.kind === 'direct') ?? [];
    const spec: WorkerPhoneSpec = {
      user, device, token: body.token,
      chats: [...chats, ...this.groups.filter((g) => g.members.includes(user)).map((g) => ({ ...g, members: [...g.members] }))],
      friends: this.friends.get(user) ?? [],
      profile: profile ?? pickByShare(this.config.scenario.network.map((n) => ({ value: n.profile, share: n.share })), r),
      startAtMs: this.nowT(),
    };
    this.devices.set(`${user}/${device}`, spec);
    this.added.push(spec);
    return spec;
  }

  private devicesOf(user: string): string[] {
    return [...this.devices.keys()].filter((d) => d.startsWith(`${user}/`));
  }

  /** Devices started by now and not logged out, in a stable order. */
  private running(): string[] {
    const now = this.nowT();
    return [...this.devices.entries()].filter(([, s]) => s.startAtMs <= now).map(([d]) => d).sort();
  }

  private drawRunning(r: Random): string | undefined {
    const running = this.running();
    return running.length === 0 ? undefined : running[r.nextInt(running.length)];
  }

  private auth(user: string): Record<string, string> {
    return { authorization: `Bearer ${this.tokens.get(user) ?? ''}` };
  }
}

function pick<T>(r: Random, options: readonly T[]): T {
  return options[r.nextInt(options.length)]!;
}

function shuffled<T>(items: readonly T[], r: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.nextInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The run's facts with the devices the events added: each under its user, with its profile. */
export function withAddedDevices<F extends { devicesOfUser: Map<string, string[]>; profileOfDevice?: Map<string, string> }>(facts: F, added: readonly WorkerPhoneSpec[]): F {
  for (const spec of added) {
    const devices = facts.devicesOfUser.get(spec.user) ?? [];
    if (!devices.includes(spec.device)) facts.devicesOfUser.set(spec.user, [...devices, spec.device]);
    facts.profileOfDevice?.set(`${spec.user}/${spec.device}`, spec.profile.name);
  }
  return facts;
}
