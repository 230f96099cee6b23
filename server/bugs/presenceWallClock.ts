import type { UserPresence } from '../ports/PresenceStore.ts';
import { PassThroughPresenceStore } from './PassThroughPresenceStore.ts';
import type { ServerBug } from './ServerBug.ts';

/**
 * Bug 'presence-wall-clock' as a presence store wrapper for one chat server: the age of the
 * last disconnect the store measured is thrown away, so the chat server subtracts the stamp
 * from its own wall clock (its fallback for a store that measures no age).
 */
export class AgelessPresence extends PassThroughPresenceStore {
  override async getMany(userIds: readonly string[]): Promise<Map<string, UserPresence>> {
    const found = await this.inner.getMany(userIds);
    for (const [user, presence] of found) {
      if (presence.lastDisconnectAgeMs === undefined) continue;
      const { lastDisconnectAgeMs: _dropped, ...rest } = presence;
      found.set(user, rest);
    }
    return found;
  }
}

export const presenceWallClock: ServerBug = {
  entry: {
    name: 'presence-wall-clock', where: 'server', breaks: ['D1'],
    description: 'A chat server answers presence queries by subtracting the store\'s last-disconnect stamp from its own wall clock instead of taking the age the store measured: once its clock is ahead (clocks.chatServerSkewMs, a clock-jump forward) a user inside the debounce window is answered offline.',
  },
  chatServer: (parts) => ({ ...parts, presence: new AgelessPresence(parts.presence) }),
};
