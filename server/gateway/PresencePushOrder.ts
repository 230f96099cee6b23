import type { PresenceStamp } from '../protocol/envelopes.ts';

/** How many users' last push numbers a gateway remembers (the oldest written is forgotten first). */
export const PRESENCE_ORDER_USERS_MAX = 100_000;

/**
 * Keeps a gateway from writing older news about a user after newer: the broker may duplicate
 * and reorder (duplicate- and reorder-broker-messages), so an offline pushed before an online
 * can arrive after it, and the phone, which has no version to compare, would show the friend
 * offline while they are online. Pushes are numbered per gateway channel in the order the
 * presence service published them, and the service announces each user serially, so among
 * pushes about one user a lower number is older. A push of another stream (the service
 * restarted), one with no user, or about a user forgotten is written.
 */
export class PresencePushOrder {
  /** user -> the stamp of the last push written about them; insertion order is age. */
  private readonly lastByUser = new Map<string, { stream: string; seq: number }>();

  constructor(private readonly usersMax = PRESENCE_ORDER_USERS_MAX) {}

  /** True if the push stamped `stamp` is to be written (it is the newest about its user). */
  admit(stamp: PresenceStamp): boolean {
    if (stamp.user === undefined) return true;
    const last = this.lastByUser.get(stamp.user);
    if (last !== undefined && last.stream === stamp.stream && stamp.seq <= last.seq) return false;
    this.lastByUser.delete(stamp.user);
    this.lastByUser.set(stamp.user, { stream: stamp.stream, seq: stamp.seq });
    if (this.lastByUser.size > this.usersMax) this.lastByUser.delete(this.lastByUser.keys().next().value!);
    return true;
  }
}
