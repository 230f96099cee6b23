import type { ChatRecord } from '../ports/Directory.ts';
import type { CursorKind, UserCursors } from '../ports/MessageStore.ts';
import type { ReceiptFrame } from '../protocol/frames.ts';
import { aggregateFor, cursorFloor, effectiveCursor, type MemberCursor } from './groupTicks.ts';

/** Every current member's effective cursor of one kind (groupTicks.ts says what "effective" means). */
export function memberCursors(chat: ChatRecord, cursors: ReadonlyMap<string, UserCursors>, kind: CursorKind): MemberCursor[] {
  return [...chat.members].map(([user, joinedAtSeq]) => ({ user, cursor: effectiveCursor(cursors.get(user)?.[kind], joinedAtSeq) }));
}

/** In a direct chat, the member who is not `user` (the one whose cursor `user`'s ticks follow). */
export function otherMember(chat: ChatRecord, user: string): string {
  for (const member of chat.members.keys()) if (member !== user) return member;
  return user;
}

/**
 * The ticks `user` sees on their own messages in `chat`, as receipt frames (delivered then
 * read), each only when above 0: what a watermark sync returns, and what the inbox copies.
 * Each is the aggregate over the current members, and never below `announced` (what `user`
 * was told already): a sender left alone in a group (the others left or were removed after
 * their receipts) has no aggregate, yet a device that was away when the receipt was pushed
 * must still show it (swarm seed 4603276: u3/d3 showed seq 11 as sent to the end while u3's
 * other devices showed it delivered).
 */
export function ticksOf(chat: ChatRecord, user: string, cursors: ReadonlyMap<string, UserCursors>, announced?: UserCursors): ReceiptFrame[] {
  const readerName = chat.kind === 'direct' ? otherMember(chat, user) : '*';
  const receipts: ReceiptFrame[] = [];
  for (const kind of ['delivered', 'read'] as const) {
    const aggregate = aggregateFor(cursorFloor(memberCursors(chat, cursors, kind)), user);
    const upTo = Math.max(Number.isFinite(aggregate) ? aggregate : 0, announced?.[kind] ?? 0);
    if (upTo > 0) receipts.push({ type: 'receipt', chat: chat.id, user: readerName, kind, upTo });
  }
  return receipts;
}
