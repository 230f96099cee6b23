import type { TimerHandle, Timers } from '../ports/Clock.ts';
import type { AppendInput, AppendResult, MessageStore, StoredMessage } from '../ports/MessageStore.ts';
import { PassThroughMessageStore } from './PassThroughMessageStore.ts';
import type { ServerBug } from './ServerBug.ts';

/** How long the `ack-before-persist` bug holds an acknowledged message before writing it. */
export const ACK_BEFORE_PERSIST_FLUSH_DELAY_MS = 1_000;

/** How far back from the head the `ack-before-persist` bug looks for an already flushed retry. */
export const ACK_BEFORE_PERSIST_RETRY_LOOKBACK_MAX = 256;

/**
 * Bug 'ack-before-persist' as a write-behind store, one per chat server: an append answers at
 * once with the seq the message is expected to get (head + its place in this buffer), so the
 * chat server acks and pushes it, and the write waits for a flush
 * ACK_BEFORE_PERSIST_FLUSH_DELAY_MS later. `drop` (the chat server stopped or crashed: its
 * memory is gone) loses the buffer: acknowledged messages are never stored. Two servers
 * buffering for one chat promise the same seq twice.
 */
export class WriteBehindStore extends PassThroughMessageStore {
  private unflushed: Array<{ input: AppendInput; promised: StoredMessage }> = [];
  private flushTimer: TimerHandle | undefined;

  constructor(inner: MessageStore, private readonly timers: Timers) {
    super(inner);
  }

  override async append(input: AppendInput): Promise<AppendResult> {
    const buffered = this.unflushed.find((u) => sameSend(u.input, input));
    if (buffered) return { message: { ...buffered.promised }, created: false };
    // A retry of a write already flushed is answered as the store does. Reading only the tail
    // keeps a send cheap in long runs; an older retry is rare with instant ACKs.
    const headSeq = await this.inner.headSeq(input.chatId);
    const lookbackFrom = Math.max(0, headSeq - ACK_BEFORE_PERSIST_RETRY_LOOKBACK_MAX);
    const tail = await this.inner.readChat(input.chatId, lookbackFrom, ACK_BEFORE_PERSIST_RETRY_LOOKBACK_MAX);
    const stored = tail.messages.find((m) => m.senderId === input.senderId && m.clientMsgId === input.clientMsgId);
    if (stored) return { message: stored, created: false };
    const seq = headSeq + this.unflushed.filter((u) => u.input.chatId === input.chatId).length + 1;
    const promised: StoredMessage = {
      chatId: input.chatId, seq, msgId: input.msgId, senderId: input.senderId, senderDeviceId: input.senderDeviceId,
      clientMsgId: input.clientMsgId, body: input.body, sentAtMs: input.sentAtMs,
    };
    this.unflushed.push({ input, promised });
    this.flushTimer ??= this.timers.schedule(ACK_BEFORE_PERSIST_FLUSH_DELAY_MS, () => void this.flush());
    return { message: { ...promised }, created: true };
  }

  override async findSend(chatId: string, senderId: string, clientMsgId: string): Promise<StoredMessage | undefined> {
    const buffered = this.unflushed.find((u) => u.input.chatId === chatId && u.input.senderId === senderId && u.input.clientMsgId === clientMsgId);
    return buffered ? { ...buffered.promised } : this.inner.findSend(chatId, senderId, clientMsgId);
  }

  /** The process is gone: what it buffered is lost (the shutdown path forgets to flush too). */
  drop(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.unflushed = [];
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const batch = this.unflushed;
    this.unflushed = [];
    for (const { input } of batch) {
      try {
        await this.inner.append(input);
      } catch {
        // Nobody is left to retry: the client already has its ACK. The write is lost (the bug).
      }
    }
  }
}

function sameSend(a: AppendInput, b: AppendInput): boolean {
  return a.chatId === b.chatId && a.senderId === b.senderId && a.clientMsgId === b.clientMsgId;
}

export const ackBeforePersist: ServerBug = {
  entry: {
    name: 'ack-before-persist', where: 'server', breaks: ['B2', 'A5'],
    description: 'The chat server acks `sent` (and pushes the message) at once with a promised seq and buffers the write for 1 s; a chat server stop or crash drops the unflushed buffer. Two servers may promise the same seq.',
  },
  chatServer: (parts, context) => {
    const store = new WriteBehindStore(parts.store, context.timers);
    context.onStop(() => store.drop());
    return { ...parts, store };
  },
};
