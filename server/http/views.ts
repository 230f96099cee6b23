import type { ChatKind, ChatRecord } from '../ports/Directory.ts';
import type { StoredMessage } from '../ports/MessageStore.ts';
import type { MessageFrame } from '../protocol/frames.ts';

export interface MemberView {
  user: string;
  joinedAtSeq: number;
}

export interface ChatView {
  id: string;
  kind: ChatKind;
  name: string;
  members: MemberView[];
  head?: number;
}

export function chatView(chat: ChatRecord, head?: number): ChatView {
  const members = [...chat.members].map(([user, joinedAtSeq]) => ({ user, joinedAtSeq }));
  const view: ChatView = { id: chat.id, kind: chat.kind, name: chat.name, members };
  if (head !== undefined) view.head = head;
  return view;
}

/** A stored message in the same shape the gateway sends it, so clients parse one format. */
export function messageFrame(message: StoredMessage): MessageFrame {
  return {
    type: 'message',
    chat: message.chatId,
    seq: message.seq,
    msgId: message.msgId,
    from: message.senderId,
    fromDevice: message.senderDeviceId,
    clientMsgId: message.clientMsgId,
    body: message.body,
    ts: message.sentAtMs,
  };
}
