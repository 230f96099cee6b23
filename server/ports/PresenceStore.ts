/**
 * Who is connected where (Redis keys with TTL in production).
 *
 * One entry per connection: (userId, connectionId) -> gatewayId, with an expiry.
 * Contract:
 * - `put` creates or replaces an entry expiring `ttlMs` from now (on the store's clock);
 *   `refresh` pushes an existing entry's expiry out and returns false if it is gone.
 * - `remove` deletes an entry and returns whether it existed; it records the user's last
 *   disconnect time when it was the user's last entry.
 * - `getMany` answers for many users in one round trip and never returns expired entries.
 *   A user whose entries have all expired but are not swept yet is reported `awaitingSweep`
 *   (no `lastDisconnectAtMs`): the disconnect is recorded by the sweep, which is also when the
 *   presence service starts its debounce, so queries and broadcasts count from one moment.
 * - `sweepExpired` removes and returns every entry whose expiry has passed. Each expired
 *   entry is returned by exactly one call, even with several sweepers, so one presence
 *   worker owns each expiry (a gateway that died without a word is noticed this way).
 * - `sweepChanged` returns the users one of whose entries was created (a `put` of a connection
 *   not present) or removed (a `remove` that found it) since a call last returned them, each
 *   user at most once per call and each change to exactly one call, even with several
 *   sweepers. The presence service reconciles these users from the store, so a change whose
 *   broker event was lost (the broker is at most once) is still announced. At most
 *   `maxUsers` per call; the rest wait for the next. Until swept the set holds at most one
 *   item per user.
 * - `epoch` names the store's contents: it changes when the store loses what it held (a Redis
 *   without persistence restarting empty), never otherwise, so a reader that announced from the
 *   old contents can tell they are gone (as MessageStore.epoch does for history). It fails
 *   while the store is unreachable, as every other call.
 */
export interface PresenceStore {
  put(entry: PresenceEntry, ttlMs: number): Promise<void>;
  refresh(userId: string, connectionId: string, ttlMs: number): Promise<boolean>;
  remove(userId: string, connectionId: string): Promise<boolean>;
  getMany(userIds: readonly string[]): Promise<Map<string, UserPresence>>;
  sweepExpired(): Promise<PresenceEntry[]>;
  sweepChanged(maxUsers: number): Promise<string[]>;
  epoch(): Promise<string>;
}

export interface PresenceEntry {
  userId: string;
  connectionId: string;
  deviceId: string;
  gatewayId: string;
}

export interface UserPresence {
  entries: PresenceEntry[];
  /** When the user's last entry was removed or swept; undefined if never, still connected, or awaiting the sweep. */
  lastDisconnectAtMs?: number;
  /**
   * With `lastDisconnectAtMs`: how long ago it was, on the store's own clock (the clock that
   * stamped it), so a reader whose wall clock is skewed or stepped still knows the age.
   */
  lastDisconnectAgeMs?: number;
  /** Every entry has expired but no sweep has removed them yet: gone, but not yet noticed. */
  awaitingSweep?: boolean;
}
