import { PassThroughPresenceStore } from './PassThroughPresenceStore.ts';
import type { ServerBug } from './ServerBug.ts';

/**
 * Bug 'no-presence-reregister' as a presence store wrapper for one gateway: a refresh that
 * finds the entry gone says it found it, so the gateway never writes the entry again.
 */
export class BlindRefreshPresence extends PassThroughPresenceStore {
  override async refresh(userId: string, connectionId: string, ttlMs: number): Promise<boolean> {
    await this.inner.refresh(userId, connectionId, ttlMs);
    return true;
  }
}

export const noPresenceReregister: ServerBug = {
  entry: {
    name: 'no-presence-reregister', where: 'server', breaks: ['D4'],
    description: 'A gateway whose presence refresh finds the entry gone (the presence store restarted empty: restart-presence-store) does not write it again: its connected users stay invisible, shown offline to friends and missed by pushes.',
  },
  gateway: (parts) => ({ ...parts, presence: new BlindRefreshPresence(parts.presence) }),
};
