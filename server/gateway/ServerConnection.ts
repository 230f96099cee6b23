/**
 * One client connection as the gateway sees it: bytes in, events out. A real `ws` socket and
 * a simulated link are two implementations (STYLE.md point 4).
 *
 * Contract: `send` queues a text frame and never throws; `bufferedBytes` is how much is
 * queued and not yet handed to the network; `close` starts a closing handshake with a code;
 * `terminate` drops the link at once. After either, `onClose` fires exactly once.
 * A binary frame is reported to `onFrame` with `binary: true` and empty text (it is never
 * decoded); protocol control frames that prove the peer is there (WebSocket ping and pong)
 * are reported to `onAlive`, where the transport has them.
 */
export interface ServerConnection {
  send(text: string): void;
  bufferedBytes(): number;
  close(code: number, reason: string): void;
  terminate(): void;
  /** Called for each data frame; `bytes` is its size on the wire (UTF-8 for text). */
  onFrame(handler: (text: string, bytes: number, binary?: boolean) => void): void;
  /** Called for each control frame that shows the peer is alive (optional: not every transport has them). */
  onAlive?(handler: () => void): void;
  onClose(handler: (code: number) => void): void;
}
