import type { TimeSource } from '../ports/Clock.ts';
import type { InboxEvent, MessageStore } from '../ports/MessageStore.ts';
import type { Random } from '../ports/Random.ts';

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** An inbox event with the key that makes its append idempotent. */
export interface Notice {
  key: string;
  event: InboxEvent;
}

export function randomBase36(random: Random, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += BASE36[random.nextInt(BASE36.length)];
  return text;
}

/**
 * A key unique to one HTTP operation. Inbox appends are idempotent per key, so a member who
 * leaves and is added again needs a fresh key, or the second member_added would be dropped.
 */
export function operationId(time: TimeSource, random: Random): string {
  return `${time.nowMs().toString(36)}.${randomBase36(random, 8)}`;
}

/** Appends the notices to every recipient's inbox, in order per recipient. */
export async function deliver(store: MessageStore, recipients: Iterable<string>, notices: Notice[]): Promise<void> {
  const unique = [...new Set(recipients)];
  await Promise.all(unique.map(async (userId) => {
    for (const notice of notices) await store.appendInbox(userId, notice.key, notice.event);
  }));
}

export function memberAdded(chatId: string, userId: string, op: string): Notice {
  return { key: `ma:${chatId}:${userId}:${op}`, event: { kind: 'member_added', chatId, userId } };
}

export function memberRemoved(chatId: string, userId: string, op: string): Notice {
  return { key: `mr:${chatId}:${userId}:${op}`, event: { kind: 'member_removed', chatId, userId } };
}

export function chatRenamed(chatId: string, name: string, op: string): Notice {
  return { key: `cr:${chatId}:${op}`, event: { kind: 'chat_renamed', chatId, name } };
}

export function profileChanged(userId: string, name: string, op: string): Notice {
  return { key: `p:${userId}:${op}`, event: { kind: 'profile_changed', userId, name } };
}
