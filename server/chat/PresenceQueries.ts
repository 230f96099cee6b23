import type { Clock } from '../ports/Clock.ts';
import type { Directory } from '../ports/Directory.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { InboundEnvelope } from '../protocol/envelopes.ts';
import type { PresenceQueryFrame } from '../protocol/frames.ts';
import type { ServerLimits } from '../protocol/limits.ts';

export interface PresenceQueriesDeps {
  clock: Clock;
  directory: Directory;
  presence: PresenceStore;
  limits: ServerLimits;
  /** Sends a frame back to the connection the request came from. */
  reply(env: InboundEnvelope, frame: object): Promise<void>;
}

/** The chat server's `presence_query` frames: friends' presence, as the presence service's broadcasts show it. */
export class PresenceQueries {
  constructor(private readonly deps: PresenceQueriesDeps) {}

  async answer(env: InboundEnvelope, frame: PresenceQueryFrame): Promise<void> {
    // Only friends' presence is visible (no leakage); others are left out of the answer.
    const friends = new Set(await this.deps.directory.friendsOf(env.user));
    const visible = frame.users.filter((u) => friends.has(u));
    const presence = await this.deps.presence.getMany(visible);
    const nowMs = this.deps.clock.nowMs();
    const users = visible.map((user) => {
      const p = presence.get(user);
      const last = p?.lastDisconnectAtMs;
      // Within the debounce window a user still shows online, exactly as the broadcasts do.
      // Expired entries not yet swept: the presence service has not started its debounce, so
      // answering offline now could never be corrected by a broadcast when the user returns.
      // The age comes from the store, which stamped the disconnect on its own clock: this
      // server's wall clock may be skewed or stepped (an NTP step), and a difference between two
      // machines' clocks is no duration. Only a store that measures no age leaves it to this clock.
      const ageMs = p?.lastDisconnectAgeMs === undefined ? (last === undefined ? undefined : nowMs - last) : p.lastDisconnectAgeMs;
      const online = (p?.entries.length ?? 0) > 0 || p?.awaitingSweep === true || (ageMs !== undefined && ageMs < this.deps.limits.presenceDebounceMs);
      return online || last === undefined ? { user, online } : { user, online, lastSeenMs: last };
    });
    await this.deps.reply(env, { type: 'presence_result', ref: frame.id, users });
  }
}
