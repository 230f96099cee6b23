import { PassThroughPresenceStore } from './PassThroughPresenceStore.ts';
import type { ServerBug } from './ServerBug.ts';

/**
 * Bug 'stale-presence-ttl' as a presence store wrapper for one gateway: a refresh does not
 * reach the store (and says the entry was found), so the entry written at connect expires
 * after presenceTtlMs however alive the connection is.
 */
export class UnrefreshedPresence extends PassThroughPresenceStore {
  override async refresh(): Promise<boolean> {
    return true;
  }
}

export const stalePresenceTtl: ServerBug = {
  entry: {
    name: 'stale-presence-ttl', where: 'server', breaks: ['D4', 'D1', 'D5'],
    description: 'Heartbeats and other frames stop refreshing the presence TTL, so connected users expire: friends see them offline and pushes stop reaching them.',
  },
  gateway: (parts) => ({ ...parts, presence: new UnrefreshedPresence(parts.presence) }),
};
