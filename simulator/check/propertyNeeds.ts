// What each property needs a phone driver to carry before the history can show it
// (simulator/drivers/DriverCapabilities.ts). A run whose driver lacks one gets `unknown` with
// the reason for that property, not a failure: a protocol without read markers cannot break
// the read-receipt properties, nor prove them.
import type { DriverCapability } from '../drivers/DriverCapabilities.ts';

/**
 * Property id -> capabilities it needs. Absent: judged whatever the driver. Each choice follows
 * what the property's checker (simulator/check/) compares; without `serverOrder` a driver
 * numbers messages per device in the order it learns of them (XMPP: ChatPositions.ts), so a
 * seq names different messages on different devices and any cross-device seq comparison
 * would be a false fail, and any "follows the chat's order" check a false pass.
 */
export const PROPERTY_NEEDS: Readonly<Record<string, readonly DriverCapability[]>> = Object.freeze({
  // A1 keys (chat, seq) across every device and the sender's ack: one shared order per chat.
  A1: ['serverOrder'],
  // A2 checks a device renders in the chat's order; positions a device assigns in arrival
  // order always increase, so without a server order it could only pass.
  A2: ['serverOrder'],
  // A3 compares the head a device's own sync reported with what that device holds: local, judged.
  // A4 maps a client id to the seq the sender was acked and the seqs receivers rendered
  // (cross-device), and "a retry gets the same answer" holds only where sends are idempotent.
  A4: ['serverOrder', 'idempotentSend'],
  // A5 / A6 look the sender's acked seq up among each member device's rendered seqs.
  A5: ['serverOrder'],
  A6: ['serverOrder'],
  // A7 traces a render by (chat, sender, client id), no seq: judged. A10 is membership: judged.
  // A8 / A9 ask whether the server ordered a later send after what its device acked or saw;
  // per-device numbering gives an own send the next number on ack, so they could only pass.
  A8: ['serverOrder'],
  A9: ['serverOrder'],
  // A11 joins the renders of (chat, seq) on every device to one store time.
  A11: ['serverOrder'],
  // Ticks: a sent tick needs only the server's answer; delivered and read ticks need receipts.
  // Without serverOrder B3, B5, B7 and B8 match receipts to messages by client id (tickIdentity.ts).
  B3: ['receipts'],
  B4: ['receipts'],
  B5: ['receipts'],
  B6: ['readMarkers'],
  B7: ['readMarkers', 'typing'],
  B8: ['receipts'],
  // Sync: C1 compares the answer with the watermarks sent, C2 chains the tokens, C3 follows the
  // seam after a reconnect's sync from its position; a driver that cannot sync from a position
  // shows none of them.
  C1: ['syncFromPosition'],
  C2: ['syncFromPosition'],
  C3: ['syncFromPosition'],
  // Presence: every D property follows presence pushes the driver must carry.
  D1: ['presence'],
  D2: ['presence'],
  D3: ['presence'],
  D4: ['presence'],
  D5: ['presence'],
  D6: ['presence'],
  D7: ['presence'],
  // E1: typing indicators clear; a driver without typing sends and shows none.
  E1: ['typing'],
  // B1, B2, A3, A7, A10, F1 (computed from the others), F2 (a metric): judged whatever the driver.
});
