import type { Directory } from '../ports/Directory.ts';
import type { MessageStore, TickState } from '../ports/MessageStore.ts';
import { PassThroughMessageStore } from './PassThroughMessageStore.ts';
import type { ServerBug } from './ServerBug.ts';

/**
 * Bug 'ticks-skip-joiners' as a store wrapper for one chat server: the tick state shows every
 * member who joined after the chat's start (joinedAtSeq above 0) with cursors at infinity, so
 * the aggregate tick is the floor over the founding members only.
 */
export class FoundersOnlyTicks extends PassThroughMessageStore {
  constructor(inner: MessageStore, private readonly directory: Directory) {
    super(inner);
  }

  override async tickState(chatId: string): Promise<TickState> {
    const [state, chat] = await Promise.all([this.inner.tickState(chatId), this.directory.getChat(chatId)]);
    const cursors = new Map(state.cursors);
    for (const [member, joinedAtSeq] of chat?.members ?? []) {
      if (joinedAtSeq > 0) cursors.set(member, { delivered: Number.POSITIVE_INFINITY, read: Number.POSITIVE_INFINITY });
    }
    return { ...state, cursors };
  }
}

export const ticksSkipJoiners: ServerBug = {
  entry: {
    name: 'ticks-skip-joiners', where: 'server', breaks: ['B8'],
    description: 'Group ticks are computed over the founding members only: a member who joined a chat that already had messages (joinedAtSeq above 0; scenario event join-group) is left out, so senders see delivered and read before the joiner has the message.',
  },
  chatServer: (parts, context) => ({ ...parts, store: new FoundersOnlyTicks(parts.store, context.directory) }),
};
