// The positions an XMPP driver gives messages. XMPP has no per-chat sequence number that both
// sides of a 1:1 chat share: each user's MAM archive orders the messages it holds with its own
// stanza ids. The app model (simulator/phone) wants a seq per chat, so the driver numbers the
// messages of each chat 1, 2, 3... in the order this device first learns of them (an own send
// acknowledged by the server, a push, a MAM page), and keeps the numbering for the driver's life
// (one phone), across sessions. Positions are therefore per device: two devices may number the
// same message differently (the driver declares serverOrder: false).
import type { WireMessage } from '../PhoneDriver.ts';

/** One message as this device numbered it. */
export interface PositionedMessage {
  message: WireMessage;
  /** The sender's stanza id, what XEP-0184 receipts and XEP-0333 markers refer to. */
  stanzaId: string;
  /** The id in this user's MAM archive (XEP-0359 stanza-id), once known: where a sync resumes. */
  archiveId?: string;
  own: boolean;
}

export class ChatPositions {
  private readonly chats = new Map<string, PositionedMessage[]>();
  /** chat -> key (origin-id, else stanza id) -> entry: a message heard twice keeps its position. */
  private readonly byKey = new Map<string, Map<string, PositionedMessage>>();

  /**
   * The entry for `key` in `chat`, numbered next if new (`make` builds its message with the
   * position). `isNew`: false for a message this device already numbered (a repeat, a copy in
   * a MAM page); an archive id learnt now is kept.
   */
  place(chat: string, key: string, make: (seq: number) => Omit<PositionedMessage, 'archiveId'> & { archiveId?: string }): { entry: PositionedMessage; isNew: boolean } {
    const keys = this.keysOf(chat);
    const known = keys.get(key);
    if (known) return { entry: known, isNew: false };
    const log = this.chats.get(chat) ?? [];
    this.chats.set(chat, log);
    const entry = make(log.length + 1);
    log.push(entry);
    keys.set(key, entry);
    return { entry, isNew: true };
  }

  /** Learn the archive id of a known message (the own message a MAM page shows). */
  noteArchiveId(chat: string, key: string, archiveId: string): void {
    const entry = this.keysOf(chat).get(key);
    if (entry && entry.archiveId === undefined) entry.archiveId = archiveId;
  }

  get(chat: string, key: string): PositionedMessage | undefined {
    return this.keysOf(chat).get(key);
  }

  /** The position of the message whose sender's stanza id is `stanzaId` (what receipts name). */
  seqOfStanzaId(chat: string, stanzaId: string): number | undefined {
    return (this.chats.get(chat) ?? []).find((e) => e.stanzaId === stanzaId)?.message.seq;
  }

  /** Entries of `chat` with `after < seq <= upTo`, in order. */
  between(chat: string, after: number, upTo: number): PositionedMessage[] {
    return (this.chats.get(chat) ?? []).slice(Math.max(0, after), Math.max(0, upTo));
  }

  /** The newest archive id at or below `seq`: a MAM query after it misses nothing past `seq`. */
  archiveIdAtOrBelow(chat: string, seq: number): string | undefined {
    const log = this.chats.get(chat) ?? [];
    for (let i = Math.min(seq, log.length) - 1; i >= 0; i--) if (log[i]!.archiveId !== undefined) return log[i]!.archiveId;
    return undefined;
  }

  head(chat: string): number {
    return this.chats.get(chat)?.length ?? 0;
  }

  private keysOf(chat: string): Map<string, PositionedMessage> {
    let keys = this.byKey.get(chat);
    if (!keys) this.byKey.set(chat, (keys = new Map()));
    return keys;
  }
}
