import type { CursorAdvance, CursorKind } from '../ports/MessageStore.ts';
import { PassThroughMessageStore } from './PassThroughMessageStore.ts';
import type { ServerBug } from './ServerBug.ts';

/** Bug 'cursor-overshoot' as a store wrapper: a delivered cursor is moved to the chat head, not to upTo. */
export class OvershootingCursors extends PassThroughMessageStore {
  override async advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance> {
    const to = kind === 'delivered' ? await this.inner.headSeq(chatId) : upTo;
    return this.inner.advanceCursor(chatId, userId, kind, to);
  }
}

export const cursorOvershoot: ServerBug = {
  entry: {
    name: 'cursor-overshoot', where: 'server', breaks: ['B3', 'B8'],
    description: 'A delivery ack (or a read, which implies delivery) moves the delivered cursor to the chat head instead of upTo, claiming delivery of messages the recipient never received.',
  },
  chatServer: (parts) => ({ ...parts, store: new OvershootingCursors(parts.store) }),
};
