import type { ChatRecord } from '../ports/Directory.ts';
import { PassThroughRouter } from './PassThroughRouter.ts';
import type { ServerBug } from './ServerBug.ts';

/**
 * Bug 'stale-roster-cache' as a router for one chat server: it caches the roster it fans each
 * chat's messages out to and only ever adds to it, so a member who left or was removed keeps
 * getting the chat's messages.
 */
export class StaleRosterRouter extends PassThroughRouter {
  /** chat -> every member this chat server ever saw in it. */
  private readonly rosters = new Map<string, Set<string>>();

  override toMembers(chat: ChatRecord, frame: string, exceptConnection?: string): Promise<void> {
    let roster = this.rosters.get(chat.id);
    if (!roster) this.rosters.set(chat.id, (roster = new Set()));
    for (const member of chat.members.keys()) roster.add(member);
    return this.inner.toUsers([...roster], frame, exceptConnection);
  }
}

export const staleRosterCache: ServerBug = {
  entry: {
    name: 'stale-roster-cache', where: 'server', breaks: ['A10'],
    description: 'Each chat server caches the roster it fans a chat\'s messages out to and only ever adds to it: a member who left or was kicked (scenario events leave-group, kick-member) keeps getting the group\'s messages.',
  },
  chatServer: (parts) => ({ ...parts, router: new StaleRosterRouter(parts.router) }),
};
