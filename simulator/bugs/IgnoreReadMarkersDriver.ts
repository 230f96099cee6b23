// Injected driver bug `ignore-read-markers` (server/bugs/BugCatalogue.ts): a driver that reads
// delivery receipts but drops read receipts arriving from the server, pushed or in a sync page
// (an XMPP client that handles XEP-0184 receipts and ignores XEP-0333 `displayed` markers is
// one). The reader did read, the sender's tick never goes past delivered: B5 (receipts
// converge) fails. Wraps any PhoneDriver, whatever its protocol.
import type { MetricsSink } from '../metrics/MetricsSink.ts';
import type { DriverSession, PhoneDriver, PhoneEvent, SessionHandlers } from '../drivers/PhoneDriver.ts';

export class IgnoreReadMarkersDriver implements PhoneDriver {
  readonly protocol: string;
  readonly capabilities: PhoneDriver['capabilities'];

  constructor(private readonly inner: PhoneDriver) {
    this.protocol = inner.protocol;
    this.capabilities = inner.capabilities;
  }

  /** Contract of PhoneDriver.open; read receipts never reach `handlers`. */
  open(endpoint: string, token: string, metrics: MetricsSink, handlers: SessionHandlers): DriverSession {
    return this.inner.open(endpoint, token, metrics, {
      onOpen: () => handlers.onOpen(),
      onInbound: () => handlers.onInbound(),
      onClose: (close) => handlers.onClose(close),
      onEvent: (event) => {
        const kept = withoutReadReceipts(event);
        if (kept) handlers.onEvent(kept);
      },
    });
  }
}

/** The event as the bugged driver passes it on, or undefined when it is dropped whole. */
function withoutReadReceipts(event: PhoneEvent): PhoneEvent | undefined {
  if (event.kind === 'receipt') return event.receipt.kind === 'read' ? undefined : event;
  if (event.kind !== 'sync-page') return event;
  return {
    ...event,
    chats: event.chats.map((c) => ({ ...c, receipts: c.receipts.filter((r) => r.kind !== 'read') })),
    // An inbox entry keeps its position (the token chain stays whole): only its content is lost.
    entries: event.entries.map((e) => (e.kind === 'receipt' && e.receipt.kind === 'read' ? { position: e.position, kind: 'other' as const } : e)),
  };
}
