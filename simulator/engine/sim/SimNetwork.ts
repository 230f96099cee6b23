import type { Timers } from '../../../server/ports/Clock.ts';
import type { GatewayListener, GatewayListenerDeps, GatewayListenerFactory } from '../../../server/gateway/GatewayListener.ts';
import type { ServerConnection } from '../../../server/gateway/ServerConnection.ts';
import { admitConnection } from '../../../server/gateway/admitConnection.ts';
import type { ClientLink, ClientLinkHandlers, ClientTransport } from '../../transport/ClientTransport.ts';

/** Close codes a real upgrade failure maps to (as WsClientTransport does for 401 / 400). */
const BAD_TOKEN_CLOSE = 4001;
const ABNORMAL_CLOSE = 1006;

/**
 * The simulation's raw network: gateways listen on `sim://gwN` addresses, phones connect to
 * them in-process. Every frame, open and close crosses as its own timer with no delay, so the
 * order is that of a socket (FIFO per direction) and nothing happens synchronously inside a
 * call, as with real sockets. Latency, bandwidth and faults are the link profile's job
 * (ShapedTransport wraps this transport exactly as it wraps real WebSockets).
 */
export class SimNetwork implements ClientTransport {
  private readonly listening = new Map<string, GatewayListenerDeps>();

  constructor(private readonly timers: Timers) {}

  /** The Cluster option that makes its gateways listen here instead of on ports. */
  readonly listeners: GatewayListenerFactory = (deps) => this.listenerFor(deps);

  open(url: string, token: string, handlers: ClientLinkHandlers): ClientLink {
    const link = new SimLink(this.timers, handlers);
    this.timers.schedule(0, () => {
      if (link.state !== 'connecting') return;
      const target = this.listening.get(url);
      if (!target) return link.fail(ABNORMAL_CLOSE, `connect ${url}: refused`);
      // The same admission as a real upgrade (token, user, device count), on the simulated ports.
      void admitConnection(target, token).then((admission) => {
        if (link.state !== 'connecting') return;
        if (!admission.ok) return link.fail(admission.status === 401 ? BAD_TOKEN_CLOSE : ABNORMAL_CLOSE, `upgrade refused: ${admission.status} ${admission.code}`);
        link.connect((server) => target.gateway.accept(server, admission.identity));
      });
    });
    return link;
  }

  private listenerFor(deps: GatewayListenerDeps): GatewayListener {
    let url: string | undefined;
    return {
      listen: async () => {
        url = `sim://${deps.gateway.id}`;
        this.listening.set(url, deps);
        return url;
      },
      close: async () => {
        if (url !== undefined && this.listening.get(url) === deps) this.listening.delete(url);
      },
    };
  }
}

/** Both ends of one simulated connection. */
class SimLink implements ClientLink {
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  private serverFrame: ((text: string, bytes: number) => void) | undefined;
  private serverClose: ((code: number) => void) | undefined;
  private queuedToClientBytes = 0;

  constructor(private readonly timers: Timers, private readonly handlers: ClientLinkHandlers) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  fail(code: number, reason: string): void {
    this.state = 'closed';
    this.handlers.onClose(code, reason);
  }

  connect(accept: (server: ServerConnection) => void): void {
    this.state = 'open';
    accept(this.serverEnd());
    this.handlers.onOpen();
  }

  // ---- client end

  send(text: string): void {
    if (this.state !== 'open') return;
    this.timers.schedule(0, () => {
      if (this.state === 'open') this.serverFrame?.(text, Buffer.byteLength(text));
    });
  }

  close(code = 1000, reason = ''): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') return this.fail(ABNORMAL_CLOSE, 'closed before open');
    this.end(code, reason);
  }

  abort(): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') return this.fail(ABNORMAL_CLOSE, 'aborted');
    this.end(ABNORMAL_CLOSE, 'aborted');
  }

  // ---- server end

  private serverEnd(): ServerConnection {
    return {
      send: (text) => {
        if (this.state !== 'open') return;
        const bytes = Buffer.byteLength(text);
        this.queuedToClientBytes += bytes;
        this.timers.schedule(0, () => {
          this.queuedToClientBytes -= bytes;
          if (this.state === 'open') this.handlers.onFrame(text);
        });
      },
      bufferedBytes: () => this.queuedToClientBytes,
      close: (code, reason) => this.end(code, reason),
      terminate: () => this.end(ABNORMAL_CLOSE, 'terminated'),
      onFrame: (handler) => { this.serverFrame = handler; },
      onClose: (handler) => { this.serverClose = handler; },
    };
  }

  /** Either side closes: frames already queued toward the other side arrive first, then both hear the close once. */
  private end(code: number, reason: string): void {
    if (this.state !== 'open') return;
    this.timers.schedule(0, () => {
      if (this.state !== 'open') return;
      this.state = 'closed';
      this.serverClose?.(code);
      this.handlers.onClose(code, reason);
    });
  }
}
