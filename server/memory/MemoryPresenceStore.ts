import type { Clock } from '../ports/Clock.ts';
import type { PresenceEntry, PresenceStore, UserPresence } from '../ports/PresenceStore.ts';

interface StoredEntry {
  entry: PresenceEntry;
  expiresAtMs: number;
}

/** In-process presence store; expiry is judged against the injected clock. */
export class MemoryPresenceStore implements PresenceStore {
  private readonly byUser = new Map<string, Map<string, StoredEntry>>();
  private readonly lastDisconnectAtMs = new Map<string, number>();
  /** Users with an entry created or removed since sweepChanged last returned them (insertion order). */
  private readonly changed = new Set<string>();

  /** `epochName`: this store never loses its contents, so its epoch never changes. */
  constructor(private readonly clock: Clock, private readonly epochName = 'memory') {}

  async epoch(): Promise<string> {
    return this.epochName;
  }

  async put(entry: PresenceEntry, ttlMs: number): Promise<void> {
    let entries = this.byUser.get(entry.userId);
    if (!entries) {
      entries = new Map();
      this.byUser.set(entry.userId, entries);
    }
    if (!entries.has(entry.connectionId)) this.changed.add(entry.userId);
    entries.set(entry.connectionId, { entry: { ...entry }, expiresAtMs: this.clock.nowMs() + ttlMs });
  }

  async refresh(userId: string, connectionId: string, ttlMs: number): Promise<boolean> {
    const stored = this.byUser.get(userId)?.get(connectionId);
    // An expired entry is gone even if no sweep has removed it yet: refreshing must not revive it.
    if (!stored || stored.expiresAtMs <= this.clock.nowMs()) return false;
    stored.expiresAtMs = this.clock.nowMs() + ttlMs;
    return true;
  }

  async remove(userId: string, connectionId: string): Promise<boolean> {
    const entries = this.byUser.get(userId);
    if (!entries?.delete(connectionId)) return false;
    this.changed.add(userId);
    if (entries.size === 0) {
      this.byUser.delete(userId);
      this.lastDisconnectAtMs.set(userId, this.clock.nowMs());
    }
    return true;
  }

  async getMany(userIds: readonly string[]): Promise<Map<string, UserPresence>> {
    const nowMs = this.clock.nowMs();
    const result = new Map<string, UserPresence>();
    for (const userId of userIds) {
      const entries: PresenceEntry[] = [];
      let unswept = false;
      for (const stored of this.byUser.get(userId)?.values() ?? []) {
        if (stored.expiresAtMs > nowMs) entries.push({ ...stored.entry });
        else unswept = true;
      }
      const presence: UserPresence = { entries };
      if (entries.length === 0 && unswept) presence.awaitingSweep = true;
      const last = this.lastDisconnectAtMs.get(userId);
      if (entries.length === 0 && !unswept && last !== undefined) {
        presence.lastDisconnectAtMs = last;
        presence.lastDisconnectAgeMs = Math.max(0, nowMs - last);
      }
      result.set(userId, presence);
    }
    return result;
  }

  async sweepChanged(maxUsers: number): Promise<string[]> {
    const users: string[] = [];
    for (const user of this.changed) {
      if (users.length >= maxUsers) break;
      users.push(user);
    }
    for (const user of users) this.changed.delete(user);
    return users;
  }

  async sweepExpired(): Promise<PresenceEntry[]> {
    const nowMs = this.clock.nowMs();
    const expired: PresenceEntry[] = [];
    for (const [userId, entries] of this.byUser) {
      for (const [connectionId, stored] of entries) {
        if (stored.expiresAtMs > nowMs) continue;
        entries.delete(connectionId);
        expired.push(stored.entry);
      }
      if (entries.size === 0) {
        this.byUser.delete(userId);
        this.lastDisconnectAtMs.set(userId, nowMs);
      }
    }
    return expired;
  }
}
