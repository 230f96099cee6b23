import type { StoredMessage } from '../ports/MessageStore.ts';
import type { MessageFrame } from '../protocol/frames.ts';

/** A stored message as the `message` frame pushes and syncs carry. */
export function toMessageFrame(m: StoredMessage): MessageFrame {
  return { type: 'message', chat: m.chatId, seq: m.seq, msgId: m.msgId, from: m.senderId, fromDevice: m.senderDeviceId, clientMsgId: m.clientMsgId, body: m.body, ts: m.sentAtMs };
}
