// XMPP over WebSocket (RFC 7395) on a chatsim ClientLink: xmpp.js's own WebSocket connection
// class (@xmpp/websocket: <open/> and <close/> framing, one stanza per message) with its socket
// replaced by one that rides the link the engine hands the phone. In a run that link is a
// ShapedTransport over a real `ws` client, so every fault of the phone's network profile
// (latency, stalls, half-open links, resets, offline windows, switches) and the oracle's
// link-up / link-down / link-dial events apply to XMPP phones exactly as to chatsim.v1 ones.
import { EventEmitter } from 'node:events';
import type { ClientLink, ClientTransport } from '../../transport/ClientTransport.ts';

/** RFC 7395 section 3.1: the WebSocket subprotocol of XMPP. */
export const XMPP_WS_SUBPROTOCOL = 'xmpp';

/** A WebSocket service URL (`ws://host:port/path`), which the link carries; anything else is xmpp.js's own TCP. */
export function isWebSocketService(service: string): boolean {
  return /^wss?:\/\//.test(service);
}

/**
 * The socket xmpp.js's connection drives (`connect`, `write`, `end`, events `connect`, `data`,
 * `close`, `error`), over one ClientLink per connect. A connect that fails emits `error` then
 * `close` (so xmpp.js's connect promise rejects); a link that ends after it opened emits only
 * `close` (dirty unless the close code is 1000), which xmpp.js turns into its `disconnect` status.
 * Writes on a link that is gone fail through their callback, never by throwing.
 */
class LinkSocket extends EventEmitter {
  secure = false;
  url: string | null = null;
  private link: ClientLink | undefined;

  constructor(private readonly transport: ClientTransport) {
    super();
  }

  connect(url: string): void {
    this.url = url;
    // xmpp.js treats loopback as secure (its own WebSocket socket does): only the stream header's `from`.
    this.secure = /^wss:\/\//.test(url) || /^ws:\/\/(localhost|127\.0\.0\.1|\[::1\])[:/]/.test(url);
    let opened = false;
    this.link = this.transport.open(url, '', {
      onOpen: () => {
        opened = true;
        this.emit('connect');
      },
      onFrame: (text) => this.emit('data', text),
      onClose: (code, reason) => {
        this.link = undefined;
        if (!opened) this.emit('error', Object.assign(new Error(`websocket ${url}: ${code} ${reason}`), { code: 'ECONNERROR' }));
        this.emit('close', code !== 1000, { code, reason });
      },
    }, { subprotocol: XMPP_WS_SUBPROTOCOL });
  }

  /** A closing handshake (xmpp.js sent its <close/> first when closing cleanly). */
  end(): void {
    this.link?.close(1000, '');
  }

  /** The phone loses the link at once (as `net.Socket.destroy` for the TCP transport). */
  destroy(): void {
    this.link?.abort();
  }

  write(data: string, done?: (error?: Error) => void): void {
    const link = this.link;
    if (!link?.isOpen) {
      if (done) queueMicrotask(() => done(new Error('the link is not open')));
      return;
    }
    link.send(data);
    if (done) queueMicrotask(() => done());
  }
}

/** An xmpp.js connection class, as xmpp.js's client uses one: it reads its prototype only (Socket, Parser, framing). */
export interface TransportClass {
  prototype: object;
}

/**
 * xmpp.js's WebSocket connection class (`webSocketClass`, from @xmpp/websocket: the client
 * registers it in `entity.transports`) with sockets that ride `transport`. xmpp.js never
 * constructs a transport class (it makes the socket with `new Transport.prototype.Socket()` and
 * calls the prototype's framing methods), so a prototype inheriting @xmpp/websocket's with its
 * own Socket is the whole class.
 */
export function linkConnectionClass(webSocketClass: TransportClass, transport: ClientTransport): TransportClass {
  class BoundSocket extends LinkSocket {
    constructor() {
      super(transport);
    }
  }
  return { prototype: Object.create(webSocketClass.prototype, { Socket: { value: BoundSocket } }) as object };
}
