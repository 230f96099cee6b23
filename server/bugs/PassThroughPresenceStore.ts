import type { PresenceEntry, PresenceStore, UserPresence } from '../ports/PresenceStore.ts';

/** A PresenceStore that hands every call to `inner`: the base of the presence bugs, each overriding the call it breaks. */
export class PassThroughPresenceStore implements PresenceStore {
  constructor(protected readonly inner: PresenceStore) {}

  put(entry: PresenceEntry, ttlMs: number): Promise<void> {
    return this.inner.put(entry, ttlMs);
  }

  refresh(userId: string, connectionId: string, ttlMs: number): Promise<boolean> {
    return this.inner.refresh(userId, connectionId, ttlMs);
  }

  remove(userId: string, connectionId: string): Promise<boolean> {
    return this.inner.remove(userId, connectionId);
  }

  getMany(userIds: readonly string[]): Promise<Map<string, UserPresence>> {
    return this.inner.getMany(userIds);
  }

  sweepExpired(): Promise<PresenceEntry[]> {
    return this.inner.sweepExpired();
  }

  sweepChanged(maxUsers: number): Promise<string[]> {
    return this.inner.sweepChanged(maxUsers);
  }

  epoch(): Promise<string> {
    return this.inner.epoch();
  }
}
