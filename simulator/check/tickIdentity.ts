// Receipts judged by message identity (B3, B5, B7, B8) for a phone driver without a server
// order (DriverCapabilities.serverOrder false, the XMPP driver): each device numbers a chat's
// messages in the order it learns of them (ChatPositions.ts), so a receipt "up to n" from a
// reader covers the messages that reader rendered at seq <= n on its own device, not seq n of
// the sender. A sender's tick for its message (clientMsgId) is justified by a receipt of
// another member whose device rendered that clientMsgId at a seq the receipt covers.
import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { getOr, userOf } from './common.ts';
import type { RunState } from './runState.ts';

type Kind = 'delivered' | 'read';

/** What the receipts of one reader (a user, or with identity one device) imply, as of the end of the run. */
export interface Implied { delivered: number; deliveredAtMs: number; deliveredBy: string; read: number; readStandalone: number; readAtMs: number; readBy: string }

/** One receipt a device sent, kept for B5/B7 (judged from the receipts sent early enough to arrive). */
export interface SentReceipt { t: number; kind: Kind; upTo: number; piggyback: boolean }

/** chat|clientMsgId -> device -> the seq the device rendered it at; and each device's highest receipts so far. */
export class ReceiptIdentity {
  private readonly renderedAt = new Map<string, Map<string, number>>();
  private readonly sent = new Map<string, { delivered: number; read: number }>();

  onRender(e: Extract<HistoryEvent, { type: 'render' }>): void {
    const at = getOr(this.renderedAt, `${e.chat}|${e.clientMsgId}`, () => new Map<string, number>());
    if (!at.has(e.p)) at.set(e.p, e.seq);
  }

  onReceiptOut(e: Extract<HistoryEvent, { type: 'receipt-out' }>): void {
    const s = getOr(this.sent, `${e.p}|${e.chat}`, () => ({ delivered: 0, read: 0 }));
    s.delivered = Math.max(s.delivered, e.upTo);
    if (e.kind === 'read') s.read = Math.max(s.read, e.upTo);
  }

  /** Whether some device of `user` has sent a `kind` receipt (a read counts as delivered) covering message `clientMsgId` of `chat`. */
  covers(chat: string, user: string, kind: Kind, clientMsgId: string): boolean {
    for (const [device, seq] of this.renderedAt.get(`${chat}|${clientMsgId}`) ?? []) {
      if (userOf(device) === user && (this.sent.get(`${device}|${chat}`)?.[kind] ?? 0) >= seq) return true;
    }
    return false;
  }

  /**
   * What `user`'s receipts (per device, from `implied` keyed by device) imply for one message, in
   * the sender's numbering: `seq` where some device of the user covered the message it rendered,
   * 0 otherwise; the naming fields are the covering device's own.
   */
  impliedFor(chat: string, clientMsgId: string, seq: number, user: string, implied: Map<string, Implied> | undefined): Implied | undefined {
    let out: Implied | undefined;
    for (const [device, at] of this.renderedAt.get(`${chat}|${clientMsgId}`) ?? []) {
      const r = userOf(device) === user ? implied?.get(device) : undefined;
      if (!r) continue;
      out ??= { delivered: 0, deliveredAtMs: 0, deliveredBy: device, read: 0, readStandalone: 0, readAtMs: 0, readBy: device };
      if (r.delivered >= at && out.delivered === 0) Object.assign(out, { delivered: seq, deliveredAtMs: r.deliveredAtMs, deliveredBy: device });
      if (r.read >= at && out.read === 0) Object.assign(out, { read: seq, readAtMs: r.readAtMs, readBy: device });
      if (r.readStandalone >= at) out.readStandalone = seq;
    }
    return out;
  }
}

/**
 * chat -> reader -> what its receipts sent by `cutoffMs` imply, from the devices connected at the
 * end; the reader is the user (positions shared by all devices) or, `byDevice`, the device.
 * Returns how many receipts came too late to count.
 *
 * A reader removed from the chat during the run counts only with the receipts it sent at least
 * `removalMarginMs` before its removal began: the server takes no receipt from a non-member
 * (NOT_MEMBER), and a tick is recomputed only when a current member's cursor moves, so a receipt
 * that may have reached the server after the removal can never tick (swarm seed 4800897: u10,
 * kicked at 6.7 s during a chat server pause, got the chat copied by token sync at 11.6 s and
 * acknowledged it; the sender, alone in the group by then, could never be told).
 */
export function impliedReceipts(deviceReceipts: Map<string, Map<string, SentReceipt[]>>, state: RunState, cutoffMs: number, byDevice: boolean, removalMarginMs: number): { implied: Map<string, Map<string, Implied>>; tooLate: number } {
  const implied = new Map<string, Map<string, Implied>>();
  let tooLate = 0;
  for (const [chat, devices] of deviceReceipts) {
    const perReader = getOr(implied, chat, () => new Map<string, Implied>());
    for (const [device, sent] of devices) {
      if (!state.connectedAtEnd(device)) continue;
      const u = getOr(perReader, byDevice ? device : userOf(device), (): Implied => ({ delivered: 0, deliveredAtMs: 0, deliveredBy: device, read: 0, readStandalone: 0, readAtMs: 0, readBy: device }));
      const removal = state.removedFrom(chat, userOf(device));
      const countedUntilMs = removal ? removal.atMs - removalMarginMs : Infinity;
      for (const r of sent) {
        if (r.t > cutoffMs) { tooLate++; continue; }
        if (r.t > countedUntilMs) continue;
        if (r.upTo > u.delivered) { u.delivered = r.upTo; u.deliveredAtMs = r.t; u.deliveredBy = device; }
        if (r.kind === 'delivered') continue;
        if (!r.piggyback) u.readStandalone = Math.max(u.readStandalone, r.upTo);
        if (r.upTo > u.read) { u.read = r.upTo; u.readAtMs = r.t; u.readBy = device; }
      }
    }
  }
  return { implied, tooLate };
}
