/**
 * One client connection as the gateway sees it: bytes in, events out. A real `ws` socket and
 * a simulated link are two implementations (STYLE.md point 4).
 *
 * Contract: `send` queues a text frame and never throws; `bufferedBytes` is how much is
 * queued and not yet handed to the network; `close` starts a closing handshake with a code;
 * `terminate` drops the link at once. After either, `onClose` fires exactly once.
 */
export interface ServerConnection {
  send(text: string): void;
  bufferedBytes(): number;
  close(code: number, reason: string): void;
  terminate(): void;
  /** Called for each text frame; `bytes` is its size in UTF-8. */
  onFrame(handler: (text: string, bytes: number) => void): void;
  onClose(handler: (code: number) => void): void;
}
