// Messages and receipts in: deduplicated by (chat, seq), buffered above a gap, rendered in
// order; receipts from others move the ticks of this phone's own messages forward.
import type { WireMessage, WireReceipt } from '../drivers/PhoneDriver.ts';
import { tickAhead, type OutboxEntry, type TickState, type TimelineMessage } from './LocalStore.ts';
import type { PhoneCore } from './PhoneCore.ts';
import type { ReceiptTracker } from './ReceiptTracker.ts';

export type Via = 'push' | 'sync';
export type Stored = TimelineMessage & { via: Via };

/** What the inbox asks of the rest of the phone. */
export interface InboxPeers {
  receipts: ReceiptTracker;
  /** A gap appeared: sync soon unless the missing push comes. */
  gapSeen(): void;
  /** Our own message came back: true if that settled it (it counted as the ACK). */
  ownMessageSeen(message: WireMessage): boolean;
}

export class Inbox {
  constructor(private readonly core: PhoneCore, private readonly peers: InboxPeers) {}

  onMessage(message: WireMessage, via: Via): void {
    if (this.core.isOwnDevice(message.from, message.fromDevice) && this.peers.ownMessageSeen(message)) return;
    this.place({ chat: message.chat, seq: message.seq, from: message.from, fromDevice: message.fromDevice, clientMsgId: message.clientMsgId, ts: message.ts, via });
  }

  /** Deduplicates by (chat, seq), buffers above a gap, renders the contiguous run in order. */
  place(message: Stored): void {
    const { core } = this;
    const timeline = core.store.timeline(message.chat);
    const expected = timeline.watermark + 1;
    const result = timeline.place(message);
    if (result === 'duplicate') {
      core.config.metrics.increment('messages.duplicate');
      // Bug 'render-duplicate-push': a push of a message already held is shown again.
      if (core.options.renderDuplicatePush && message.via === 'push') this.render(message);
      return;
    }
    if (result === 'gap') {
      core.record({ type: 'gap', chat: message.chat, expected, got: message.seq });
      // Bug 'render-out-of-order-push': shown at once, ahead of the seqs still missing.
      if (core.options.renderOutOfOrderPush && message.via === 'push') this.render(message);
      this.peers.gapSeen();
      return;
    }
    this.renderReady(message.chat);
  }

  /** Renders the contiguous run above the watermark, then schedules the receipts it owes. */
  renderReady(chat: string): void {
    let rendered = 0;
    for (const ready of this.core.store.timeline(chat).takeReady() as Stored[]) if (this.render(ready)) rendered++;
    if (rendered === 0) return; // own messages need no receipts of ours
    this.peers.receipts.owe(chat);
  }

  /** Receipts are cumulative: every own message of the chat with seq <= upTo gets the tick. */
  applyReceipt(receipt: WireReceipt): void {
    const { store } = this.core;
    this.core.record({ type: 'receipt-in', chat: receipt.chat, user: receipt.user, kind: receipt.kind, upTo: receipt.upTo });
    if (!store.raiseCursor(receipt.chat, receipt.kind, receipt.upTo)) return;
    for (const entry of store.sentIn(receipt.chat)) this.advanceTick(entry, store.tickFromCursors(entry.chat, entry.seq!));
  }

  /** Moves a tick forward only; read implies delivered, so both are recorded in order. */
  advanceTick(entry: OutboxEntry, target: TickState): void {
    if (target === 'delivered' || target === 'read') this.setTick(entry, 'delivered', 'sendToDelivered');
    if (target === 'read') {
      this.setTick(entry, 'read', 'sendToRead');
      this.core.store.outbox.delete(entry.clientMsgId); // final: nothing can change it any more
    }
  }

  private render(message: Stored): boolean {
    if (this.core.isOwnDevice(message.from, message.fromDevice)) return false; // already on screen since send()
    this.peers.receipts.noteRendered(message.chat, message.seq);
    // fanOut and per-recipient sendToDelivered are computed from the whole history after the run
    // (simulator/metrics/historyLatencies.ts): only there are all of a message's renders known.
    this.core.record({ type: 'render', chat: message.chat, seq: message.seq, from: message.from, clientMsgId: message.clientMsgId, via: message.via, storedAt: message.ts - this.core.config.startMs });
    return true;
  }

  private setTick(entry: OutboxEntry, tick: 'delivered' | 'read', metric: 'sendToDelivered' | 'sendToRead'): void {
    if (!tickAhead(tick, entry.state)) return;
    entry.state = tick;
    this.core.record({ type: 'tick', chat: entry.chat, clientMsgId: entry.clientMsgId, seq: entry.seq!, tick });
    // The delivered tick's own latency is not a metric: sendToDelivered is per recipient (from the history).
    if (metric === 'sendToRead') this.core.config.metrics.observe(metric, this.core.nowMs() - entry.createdMs);
  }
}
