import type { StoredMessage } from '../ports/MessageStore.ts';
import { num, text, type Row } from './lwt.ts';

/** A claim on an idempotency key: who took it, the payload of the first call, and its current slot. */
export interface MessageClaim {
  owner: string;
  slot: number;
  message: Omit<StoredMessage, 'seq'>;
  /** Taken by an earlier call, so its slot may hold the message already (see placeMessage). */
  maybePlaced: boolean;
}

/** A claim's slot; every claim is written with one, so a row without it is a broken invariant. */
function slotOf(row: Row): number {
  const slot = num(row.get('trying_seq'));
  if (slot === undefined || slot < 1) throw new Error(`send_claims row without a valid trying_seq (${String(slot)})`);
  return slot;
}

/** The claim a send_claims row holds (the stored payload, not this call's). */
export function claimFrom(row: Row, input: Omit<StoredMessage, 'seq'>, maybePlaced: boolean): MessageClaim {
  return {
    owner: String(row.get('owner')),
    slot: slotOf(row),
    maybePlaced,
    message: {
      chatId: input.chatId, senderId: input.senderId, clientMsgId: input.clientMsgId,
      msgId: text(row.get('msg_id')) ?? '', senderDeviceId: text(row.get('sender_device_id')) ?? '',
      body: text(row.get('body')) ?? '', sentAtMs: num(row.get('sent_at_ms')) ?? 0,
    },
  };
}
