// How much of a list fits one chatsim.v1 request within the limits the hello announced
// (syncChatsMax, presenceQueryUsersMax, frameBytesMax).
import type { HelloLimits } from '../../../server/protocol/limits.ts';
import type { RequestPaging } from '../PhoneDriver.ts';

/** Bytes kept free in a sync or presence frame for everything but its entries (type, id, epoch, listedOnly). */
export const SYNC_FRAME_OVERHEAD_BYTES = 256;
const utf8 = new TextEncoder();

/** The paging a hello's limits allow (no limits, from an older server: one frame holds everything). */
export function limitsPaging(limits: HelloLimits | undefined): RequestPaging {
  return {
    chatsPage: (chats, positions) => syncPage(chats, positions, limits),
    usersPage: (users) => idPage(users, limits?.presenceQueryUsersMax, limits?.frameBytesMax),
  };
}

/**
 * The first chats of `chats` that fit one sync frame within the announced limits: at most
 * `syncChatsMax` entries and `frameBytesMax` bytes, always at least one. Without limits, all.
 */
export function syncPage(chats: readonly string[], watermarks: Record<string, number>, limits: HelloLimits | undefined): string[] {
  // "id":n, per chat
  return firstThatFit(chats, (chat) => utf8.encode(JSON.stringify(chat)).length + String(watermarks[chat] ?? 0).length + 2, limits?.syncChatsMax, limits?.frameBytesMax);
}

/** The first ids of `ids` that fit one presence query: at most `countMax` and `frameBytesMax` bytes, at least one. */
export function idPage(ids: readonly string[], countMax: number | undefined, frameBytesMax: number | undefined): string[] {
  return firstThatFit(ids, (id) => utf8.encode(JSON.stringify(id)).length + 1, countMax, frameBytesMax); // "id",
}

function firstThatFit(items: readonly string[], bytesOf: (item: string) => number, countMax = Infinity, frameBytesMax = Infinity): string[] {
  const page: string[] = [];
  let bytes = SYNC_FRAME_OVERHEAD_BYTES;
  for (const item of items) {
    const itemBytes = bytesOf(item);
    if (page.length > 0 && (page.length >= countMax || bytes + itemBytes > frameBytesMax)) break;
    page.push(item);
    bytes += itemBytes;
  }
  return page;
}
