import type { InboxEvent } from '../ports/MessageStore.ts';
import type { SyncChatResult, SyncResultFrame } from '../protocol/frames.ts';

/**
 * Cuts sync results to a byte limit (`syncResultBytesMax`), so that no answer outgrows the
 * gateway's send buffer: the rest comes by `hasMore`.
 *
 * The rule: a result is at most `bytesMax` UTF-8 bytes of JSON, except that it always carries
 * at least one message (or event) when one is pending, however large: a page must make
 * progress. So a result passes `bytesMax` only when it carries exactly one message (or event)
 * that does not fit on its own, and is then at most that message plus the rest of the frame.
 * Messages stay in the order given (chat by chat, seq ascending): a cut drops a suffix.
 *
 * Sizes are exact: JSON.stringify of the frame, counted in UTF-8 bytes, as the gateway sends it.
 */

/** Bytes of `value` as JSON in UTF-8. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * Drops messages from the end of a watermark result until it fits `bytesMax` (keeping at least
 * the first message). A chat that lost messages gets `hasMore: true`, as does the frame.
 * Returns a new frame; the input is not changed.
 */
export function fitWatermarkResult(frame: SyncResultFrame & { chats: SyncChatResult[] }, bytesMax: number): SyncResultFrame & { chats: SyncChatResult[] } {
  // The frame without any message, with every hasMore at its longest value ("false"), bounds
  // what is not a message; then each message costs its JSON plus a comma when not first.
  const skeleton = { ...frame, hasMore: false, chats: frame.chats.map((c) => ({ ...c, messages: [], hasMore: false })) };
  let used = jsonBytes(skeleton);
  let kept = 0;
  let full = false;
  const chats = frame.chats.map((chat) => {
    let take = 0;
    for (const message of chat.messages) {
      if (full) break;
      const cost = jsonBytes(message) + (take > 0 ? 1 : 0);
      if (kept > 0 && used + cost > bytesMax) {
        full = true;
        break;
      }
      used += cost;
      take++;
      kept++;
    }
    return take === chat.messages.length ? chat : { ...chat, messages: chat.messages.slice(0, take), hasMore: true };
  });
  return { ...frame, hasMore: frame.hasMore || full, chats };
}

/**
 * How many of a token result's events fit `bytesMax` with the rest of the frame (at least one
 * when there is any). `frameWithoutEvents` is the frame with `events: []` and the longest token
 * it may carry.
 */
export function eventsThatFit(frameWithoutEvents: object, events: ReadonlyArray<{ position: number; event: InboxEvent }>, bytesMax: number): number {
  let used = jsonBytes({ ...frameWithoutEvents, hasMore: false });
  let take = 0;
  for (const event of events) {
    const cost = jsonBytes(event) + (take > 0 ? 1 : 0);
    if (take > 0 && used + cost > bytesMax) break;
    used += cost;
    take++;
  }
  return take;
}
