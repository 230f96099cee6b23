/**
 * Group tick aggregation, as pure functions so they can be property-tested.
 *
 * A member's effective cursor is max(their cursor, the chat head when they joined): a member
 * counts only for messages sent after they joined. For a sender S, the aggregate tick is the
 * minimum effective cursor over every member except S: a message of S is delivered (or read)
 * once every other member has delivered (or read) it. In a direct chat this is simply the
 * other member's cursor.
 */
export interface MemberCursor {
  user: string;
  /** Effective cursor: max(cursor, joinedAtSeq). */
  cursor: number;
}

/** The two smallest effective cursors, enough to answer `aggregateFor` for every sender. */
export interface CursorFloor {
  lowest: number;
  lowestHolder: string | undefined;
  secondLowest: number;
}

export function effectiveCursor(cursor: number | undefined, joinedAtSeq: number): number {
  return Math.max(cursor ?? 0, joinedAtSeq);
}

export function cursorFloor(members: readonly MemberCursor[]): CursorFloor {
  let lowest = Number.POSITIVE_INFINITY;
  let lowestHolder: string | undefined;
  let secondLowest = Number.POSITIVE_INFINITY;
  for (const m of members) {
    if (m.cursor < lowest) {
      secondLowest = lowest;
      lowest = m.cursor;
      lowestHolder = m.user;
    } else if (m.cursor < secondLowest) {
      secondLowest = m.cursor;
    }
  }
  return { lowest, lowestHolder, secondLowest };
}

/** The aggregate tick for `sender`: min over the other members. Infinity when alone in the chat. */
export function aggregateFor(floor: CursorFloor, sender: string): number {
  return floor.lowestHolder === sender ? floor.secondLowest : floor.lowest;
}

/**
 * The senders whose aggregate tick moved when one member's cursor moved, with the new value.
 * Only senders with a message past their old aggregate are told: others have nothing to tick.
 */
export function tickChanges(
  before: readonly MemberCursor[],
  after: readonly MemberCursor[],
  lastSeqBySender: ReadonlyMap<string, number>,
): Array<{ sender: string; upTo: number }> {
  const floorBefore = cursorFloor(before);
  const floorAfter = cursorFloor(after);
  const members = new Set(after.map((m) => m.user));
  const changes: Array<{ sender: string; upTo: number }> = [];
  for (const [sender, lastSeq] of lastSeqBySender) {
    if (!members.has(sender)) continue;
    const was = aggregateFor(floorBefore, sender);
    const now = aggregateFor(floorAfter, sender);
    if (now > was && lastSeq > was && Number.isFinite(now)) changes.push({ sender, upTo: now });
  }
  return changes;
}
