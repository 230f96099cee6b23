// The real ClientTransport: one `ws` WebSocket per link, subprotocol chatsim.v1.
import WebSocket from 'ws';
import { CLOSE_CODES } from '../../../server/protocol/errorCodes.ts';
import { SUBPROTOCOL } from '../../../server/protocol/frames.ts';
import type { ClientLink, ClientLinkHandlers, ClientLinkOptions, ClientTransport } from '../../transport/ClientTransport.ts';

/** Code reported for a link that died without a closing handshake (RFC 6455). */
const ABNORMAL_CLOSE = 1006;

/**
 * Opens real WebSockets to a gateway. The token goes in the Authorization header (the
 * gateway also accepts `?token=`, but URLs end up in logs); an empty token sends none. The
 * subprotocol is chatsim.v1 unless the link options name another (the XMPP driver asks for
 * `xmpp`, RFC 7395, and signs in inside the stream). Compression is off: the gateway refuses it
 * anyway and its per-socket state would cost memory with thousands of phones.
 */
export class WsClientTransport implements ClientTransport {
  open(url: string, token: string, handlers: ClientLinkHandlers, options?: ClientLinkOptions): ClientLink {
    return new WsLink(url, token, handlers, options?.subprotocol ?? SUBPROTOCOL);
  }
}

class WsLink implements ClientLink {
  private readonly ws: WebSocket;
  private closed = false;

  constructor(url: string, token: string, private readonly handlers: ClientLinkHandlers, subprotocol: string) {
    this.ws = new WebSocket(url, subprotocol, { headers: token ? { authorization: `Bearer ${token}` } : {}, perMessageDeflate: false });
    this.ws.on('open', () => { if (!this.closed) handlers.onOpen(); });
    this.ws.on('message', (data) => { if (!this.closed) handlers.onFrame(String(data)); });
    this.ws.on('error', () => { /* always followed by 'close'; the reason travels there */ });
    this.ws.on('unexpected-response', (_req, res) => {
      // An HTTP refusal at the upgrade: reported as the close code that means the same, so
      // the phone's isRetryableClose() decision covers it (bad token / subprotocol: give up).
      this.finish(closeCodeForStatus(res.statusCode), `http ${res.statusCode}`);
      this.ws.terminate();
    });
    this.ws.on('close', (code, reason) => this.finish(code, reason.toString()));
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  send(text: string): void {
    if (this.isOpen) this.ws.send(text);
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    else this.abort();
  }

  abort(): void {
    this.ws.terminate();
    this.finish(ABNORMAL_CLOSE, 'aborted');
  }

  /** onClose exactly once, whatever mix of events `ws` emits. */
  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onClose(code, reason);
  }
}

function closeCodeForStatus(status: number | undefined): number {
  if (status === 401) return CLOSE_CODES.TOKEN_EXPIRED.code;
  if (status === 400) return CLOSE_CODES.UNSUPPORTED_PROTOCOL.code;
  return ABNORMAL_CLOSE;
}
