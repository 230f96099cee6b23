import type { Timers } from '../ports/Clock.ts';
import type { PresenceEntry, PresenceStore, UserPresence } from '../ports/PresenceStore.ts';
import { BackendUnavailable, FaultWindows, type EndWindow } from './FaultWindows.ts';

/** How long a call to a presence store that is restarting takes to fail, in ms (a refused connection). */
export const PRESENCE_DOWN_FAIL_AFTER_MS = 5;

/**
 * Fault injection: a PresenceStore that can restart (the `restart-presence-store` fault) as a
 * Redis without persistence does: it comes back empty. Every entry and every last-disconnect
 * time written before the restart is gone, and for a window after it every call fails with
 * BackendUnavailable (the server is still starting). Gateways notice when a refresh finds their
 * entry gone and write it again; until then pushes do not find those connections.
 *
 * The wrapper cannot empty the store behind it (a Redis shared with other ports, or a memory
 * store), so it namespaces: every user id it passes on carries the store's generation, and a
 * restart moves to the next one. Entries of an older generation are never returned again, not
 * even by the sweep (a restarted Redis has no keys left to expire), and expire behind the scenes.
 * Generation 0 passes ids through unchanged, so a run without the fault writes the same keys.
 * Several processes sharing one store move to the same generation together (setGeneration).
 */
export class RestartablePresenceStore implements PresenceStore {
  private generation = 0;
  private readonly down = new FaultWindows();
  /** Restarts so far and calls refused while down (for tests and logs). */
  readonly stats = { restarts: 0, refused: 0 };

  constructor(private readonly inner: PresenceStore, private readonly timers: Timers) {}

  /** The store restarts now, losing everything; calls fail until the returned function is called. */
  restart(): EndWindow {
    this.setGeneration(this.generation + 1);
    return this.down.start(1);
  }

  /** Moves to `generation` (never back): what a restart seen by another process does here. */
  setGeneration(generation: number): void {
    if (generation <= this.generation) return;
    this.generation = generation;
    this.stats.restarts++;
  }

  /** Calls fail until the returned function is called (the store is restarting). */
  startDown(): EndWindow {
    return this.down.start(1);
  }

  get currentGeneration(): number {
    return this.generation;
  }

  private key(userId: string): string {
    return this.generation === 0 ? userId : `${this.generation}~${userId}`;
  }

  /** The user id of a key of the current generation; undefined for another generation's. */
  private userOf(key: string): string | undefined {
    if (this.generation === 0) return key.includes('~') && /^\d+~/.test(key) ? undefined : key;
    const prefix = `${this.generation}~`;
    return key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (this.down.active) {
      this.stats.refused++;
      await new Promise<void>((resolve) => { this.timers.schedule(PRESENCE_DOWN_FAIL_AFTER_MS, resolve); });
      throw new BackendUnavailable('the presence store');
    }
    return op();
  }

  put(entry: PresenceEntry, ttlMs: number): Promise<void> {
    return this.call(() => this.inner.put({ ...entry, userId: this.key(entry.userId) }, ttlMs));
  }

  refresh(userId: string, connectionId: string, ttlMs: number): Promise<boolean> {
    return this.call(() => this.inner.refresh(this.key(userId), connectionId, ttlMs));
  }

  remove(userId: string, connectionId: string): Promise<boolean> {
    return this.call(() => this.inner.remove(this.key(userId), connectionId));
  }

  getMany(userIds: readonly string[]): Promise<Map<string, UserPresence>> {
    return this.call(async () => {
      const keyed = await this.inner.getMany(userIds.map((u) => this.key(u)));
      const byUser = new Map<string, UserPresence>();
      for (const userId of userIds) {
        const presence = keyed.get(this.key(userId));
        if (presence) byUser.set(userId, { ...presence, entries: presence.entries.map((e) => ({ ...e, userId })) });
      }
      return byUser;
    });
  }

  /**
   * The users whose entries changed (the store's change set, where the store has one), of this
   * generation only: changes recorded before a restart are lost with it.
   */
  sweepChanged(maxUsers: number): Promise<string[]> {
    const inner = this.inner as PresenceStore & { sweepChanged?: (maxUsers: number) => Promise<string[]> };
    return this.call(async () => {
      const keys = (await inner.sweepChanged?.(maxUsers)) ?? [];
      return keys.map((key) => this.userOf(key)).filter((user): user is string => user !== undefined);
    });
  }

  /** The inner store's epoch, marked with the generation after a restart (generation 0 passes it through). */
  epoch(): Promise<string> {
    return this.call(async () => {
      const inner = await this.inner.epoch();
      return this.generation === 0 ? inner : `${inner}#${this.generation}`;
    });
  }

  sweepExpired(): Promise<PresenceEntry[]> {
    return this.call(async () => {
      const swept: PresenceEntry[] = [];
      for (const entry of await this.inner.sweepExpired()) {
        const userId = this.userOf(entry.userId);
        if (userId !== undefined) swept.push({ ...entry, userId });
      }
      return swept;
    });
  }
}
