// Injected driver bug `ack-before-render` (server/bugs/BugCatalogue.ts): a driver that
// acknowledges a pushed message the moment it arrives on the wire, before the app has it, and
// then loses it on the way to the app (a crash or a dropped callback between the two). The
// sender's tick goes to delivered while the recipient never received the message: B3
// (delivered implies received) fails. Wraps any PhoneDriver, whatever its protocol.
import type { MetricsSink } from '../metrics/MetricsSink.ts';
import type { DriverSession, PhoneDriver, PhoneEvent, SessionHandlers } from '../drivers/PhoneDriver.ts';

export class AckBeforeRenderDriver implements PhoneDriver {
  readonly protocol: string;
  readonly capabilities: PhoneDriver['capabilities'];

  constructor(private readonly inner: PhoneDriver) {
    this.protocol = inner.protocol;
    this.capabilities = inner.capabilities;
  }

  /** Contract of PhoneDriver.open; pushed messages are acknowledged and never reach `handlers`. */
  open(endpoint: string, token: string, metrics: MetricsSink, handlers: SessionHandlers): DriverSession {
    // Events may arrive from inside `open`, before the session exists; a push never does
    // (it follows the session event), so the holder is set by then.
    const holder: { session?: DriverSession } = {};
    const onEvent = (event: PhoneEvent): void => {
      if (event.kind !== 'message' || !holder.session) return handlers.onEvent(event);
      holder.session.send({ kind: 'ack', chat: event.message.chat, upTo: event.message.seq });
    };
    holder.session = this.inner.open(endpoint, token, metrics, { ...handlers, onOpen: () => handlers.onOpen(), onInbound: () => handlers.onInbound(), onClose: (c) => handlers.onClose(c), onEvent });
    return holder.session;
  }
}
