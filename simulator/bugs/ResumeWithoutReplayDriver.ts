// Injected driver bug `resume-without-replay` (server/bugs/BugCatalogue.ts): a driver that, after
// a reconnect, believes the old stream resumed (as an XEP-0198 client that skips replaying its
// unacknowledged stanzas does) and drops every repeat of a message it had already handed to an
// earlier session that the server never confirmed. A message in flight when the link died is
// then never stored: the send stays pending after the heal and F1 (convergence) fails. Repeats
// inside one session (the app's retry timer) still go out. Wraps any PhoneDriver.
import type { MetricsSink } from '../metrics/MetricsSink.ts';
import type { DriverSession, PhoneDriver, PhoneIntent, SessionHandlers } from '../drivers/PhoneDriver.ts';

export class ResumeWithoutReplayDriver implements PhoneDriver {
  readonly protocol: string;
  readonly capabilities: PhoneDriver['capabilities'];
  /** clientMsgId -> the session (by number) that first carried it, until the server stores it. */
  private readonly unconfirmed = new Map<string, number>();
  private sessions = 0;

  constructor(private readonly inner: PhoneDriver) {
    this.protocol = inner.protocol;
    this.capabilities = inner.capabilities;
  }

  /** Contract of PhoneDriver.open; sends first carried by an earlier session are dropped. */
  open(endpoint: string, token: string, metrics: MetricsSink, handlers: SessionHandlers): DriverSession {
    const number = ++this.sessions;
    const session = this.inner.open(endpoint, token, metrics, {
      onOpen: () => handlers.onOpen(),
      onInbound: () => handlers.onInbound(),
      onClose: (close) => handlers.onClose(close),
      onEvent: (event) => {
        if (event.kind === 'stored') this.unconfirmed.delete(event.clientMsgId);
        handlers.onEvent(event);
      },
    });
    return {
      send: (intent: PhoneIntent) => {
        if (intent.kind === 'send') {
          const first = this.unconfirmed.get(intent.clientMsgId) ?? number;
          this.unconfirmed.set(intent.clientMsgId, first);
          if (first !== number) return;
        }
        session.send(intent);
      },
      close: (code, reason) => session.close(code, reason),
      abort: () => session.abort(),
    };
  }
}
