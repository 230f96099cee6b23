// Friends' presence: asked for at each session start (there is no snapshot on connect), pushed
// while connected, and a query's answer never overwrites a newer push.
import type { PhoneCore } from './PhoneCore.ts';

export class PresenceTracker {
  private presenceCounter = 0;
  /** presence query id -> when it was sent: an answer is a snapshot taken somewhere in between. */
  private readonly askedMs = new Map<string, { atMs: number; stampMs: number }>();
  /** friend -> when its latest presence push arrived (a query asked before it is older news). */
  private readonly pushedMs = new Map<string, number>();

  constructor(private readonly core: PhoneCore) {}

  /** Asks for the friends' presence; from the hello on. False if nothing was asked. */
  query(): boolean {
    const { core } = this;
    const friends = core.config.friends;
    if ((core.phase !== 'ready' && core.phase !== 'syncing') || friends.length === 0) return false;
    // Paged within the limits the session announced (users per query, bytes per frame).
    for (let from = 0; from < friends.length;) {
      const users = core.paging.usersPage(friends.slice(from));
      from += users.length;
      this.ask(users);
    }
    return true;
  }

  pushed(user: string, online: boolean): void {
    this.pushedMs.set(user, this.stampMs());
    this.core.record({ type: 'presence-seen', user, online });
  }

  answered(ref: string, users: ReadonlyArray<{ user: string; online: boolean }>): void {
    const asked = this.askedMs.get(ref);
    // A query not remembered was answered already (the broker delivered the answer twice) or
    // forgotten behind newer queries that will answer: its age is unknown, so it is dropped.
    // (Swarm seed 4507012: a duplicated answer asked before a friend came online arrived after
    // the online push, was taken for news, and the phone showed the friend offline.)
    if (asked === undefined) {
      this.core.config.metrics.increment('presence.unknownAnswers');
      return;
    }
    this.askedMs.delete(ref);
    for (const entry of users) {
      // The answer is a snapshot taken some time after we asked; a push that arrived since
      // may be newer, and the answer then must not overwrite it (the snapshot and the push
      // travel different paths, so arrival order says nothing). Every change a query can
      // see is also pushed to connected friends, so keeping the push loses nothing.
      // (10,000 phones: u7344/d1 asked at 13.615 s, heard u7636 online by push at
      // 13.814 s, then the older answer "offline" at 13.930 s, and showed it.)
      if ((this.pushedMs.get(entry.user) ?? -Infinity) > asked.stampMs) continue;
      this.core.record({ type: 'presence-seen', user: entry.user, online: entry.online, askedAt: asked.atMs - this.core.config.startMs });
    }
  }

  /**
   * One page of a presence query. An answer can be lost on the way (it comes through the
   * broker, which is at most once): one not back within `presenceQueryTimeoutMs` on the same
   * link is asked again (seed 31: the answer to the query at the hello was lost in a
   * broker-loss window and the phone showed a friend offline until its next sync round, 19 s
   * later). A new link asks anew at its hello.
   */
  private ask(users: string[]): void {
    const { core } = this;
    const id = `${core.config.device}-q${++this.presenceCounter}`;
    // Bounded: at most the last few unanswered queries are remembered (answers can be lost).
    if (this.askedMs.size >= 16) this.askedMs.delete(this.askedMs.keys().next().value!);
    this.askedMs.set(id, { atMs: core.nowMs(), stampMs: this.stampMs() });
    core.send({ kind: 'presence-query', id, users });
    const gen = core.linkGen;
    core.timers.schedule(core.options.presenceQueryTimeoutMs, () => {
      // Still remembered if unanswered; kept, so a late answer keeps its askedAt (a push since wins).
      if (gen !== core.linkGen || !this.askedMs.has(id)) return;
      core.config.metrics.increment('presence.queryTimeouts');
      this.ask(users);
    });
  }

  /**
   * What a presence push and a query are stamped with to tell which is newer: monotonic time.
   * Bug 'phone-wall-clock-presence': the wall clock, so once it jumps back every answer about
   * a user pushed before the jump looks older than that push and is dropped.
   */
  private stampMs(): number {
    const { config, options } = this.core;
    return (options.wallClockPresence ? (config.wallClock ?? config.time) : config.time).nowMs();
  }
}
