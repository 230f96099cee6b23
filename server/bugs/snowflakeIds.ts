import { OffsetClock } from '../faults/OffsetClock.ts';
import type { ChatPage } from '../ports/MessageStore.ts';
import { PassThroughMessageStore } from './PassThroughMessageStore.ts';
import type { ServerBug } from './ServerBug.ts';
import { snowflakeSkewMs } from './snowflakeSkew.ts';

/**
 * Bug 'snowflake-ids', the read half: a position in a chat is trusted as a position in msgId
 * (time) order. Only messages whose id sorts after the id of the message at `afterSeq` come
 * back, in id order, so a message stored later by a chat server whose clock is behind is
 * skipped for good.
 */
export class SnowflakeOrderStore extends PassThroughMessageStore {
  override async readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    const all = await this.inner.readChat(chatId, 0, Number.MAX_SAFE_INTEGER);
    const watermarkId = all.messages.find((m) => m.seq === afterSeq)?.msgId ?? '';
    const after = all.messages.filter((m) => m.msgId > watermarkId).sort((a, b) => (a.msgId < b.msgId ? -1 : 1));
    return { messages: after.slice(0, limit), headSeq: all.headSeq, hasMore: after.length > limit };
  }
}

export const snowflakeIds: ServerBug = {
  entry: {
    name: 'snowflake-ids', where: 'server', breaks: ['C1', 'A5', 'A3'],
    description: 'Each chat server\'s clock (which stamps msgIds and message times) is skewed by up to ±400 ms (drawn from its id), and its reads of a chat return only messages whose msgId sorts after the msgId of the message at the watermark: a message stored "behind" the watermark is never synced.',
  },
  // The skew shifts readings, not durations (timers stay on the time source).
  chatServer: (parts, context) => ({ ...parts, clock: new OffsetClock(parts.clock, snowflakeSkewMs(context.id)), store: new SnowflakeOrderStore(parts.store) }),
};
