/**
 * How a phone reaches a gateway: bytes out, events in. A real `ws` client and a simulated
 * link (issue 5) are two implementations; network profiles wrap either (simulator/network).
 *
 * Contract:
 * - `open` starts connecting at once and never throws; the outcome arrives as exactly one of
 *   `onOpen` or `onClose` (a failed connect is a close with code 1006 and a reason).
 * - After `onOpen`, frames arrive through `onFrame` in the order the server sent them, until
 *   `onClose` fires, exactly once. Nothing is delivered after `onClose`.
 * - `send` on a link that is not open is a silent no-op (the phone's outbox retries).
 * - `close` starts a closing handshake; `onClose` follows. `abort` drops the link at once
 *   (like a phone losing the radio) and also ends in `onClose` (code 1006).
 */
export interface ClientLink {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  abort(): void;
  readonly isOpen: boolean;
}

export interface ClientLinkHandlers {
  onOpen(): void;
  onFrame(text: string): void;
  onClose(code: number, reason: string): void;
}

/**
 * What a protocol asks of the link beyond its URL. `subprotocol`: the WebSocket subprotocol to
 * offer (default chatsim.v1; XMPP over WebSocket, RFC 7395, offers `xmpp`). A transport that is
 * not a WebSocket ignores it.
 */
export interface ClientLinkOptions {
  subprotocol?: string;
}

export interface ClientTransport {
  /** `token`: a bearer credential sent with the connect (none when empty). */
  open(url: string, token: string, handlers: ClientLinkHandlers, options?: ClientLinkOptions): ClientLink;
}
