// An in-memory gateway for phone tests: every open() becomes a FakeConnection the test
// drives by hand (accept, push frames, fail, close) and inspects (frames the phone sent).
import type { ClientLink, ClientLinkHandlers, ClientTransport } from '../../simulator/transport/ClientTransport.ts';
import type { ClientFrame, HelloFrame, ServerFrame } from '../../server/protocol/frames.ts';

export type ConnectionState = 'connecting' | 'open' | 'closed';

export class FakeConnection implements ClientLink {
  state: ConnectionState = 'connecting';
  /** Frames the phone sent on this connection, parsed, in order. */
  readonly sent: ClientFrame[] = [];
  closeCode: number | undefined;
  aborted = false;

  constructor(readonly url: string, readonly token: string, readonly openedAtMs: number, private readonly handlers: ClientLinkHandlers) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Completes the WebSocket handshake and sends hello, like the gateway. */
  accept(heartbeatIntervalMs = 25_000, limits?: HelloFrame['limits']): void {
    if (this.state !== 'connecting') throw new Error(`accept on a ${this.state} connection`);
    this.state = 'open';
    this.handlers.onOpen();
    this.push({ type: 'hello', v: 1, user: 'u', device: 'd', connection: 'fake.1', heartbeatIntervalMs, ...(limits ? { limits } : {}) });
  }

  /** Delivers a server frame to the phone. */
  push(frame: ServerFrame): void {
    if (this.state !== 'open') throw new Error(`push on a ${this.state} connection`);
    this.handlers.onFrame(JSON.stringify(frame));
  }

  /** The connection dies (refused connect, or link lost) with `code`. */
  fail(code = 1006, reason = 'connection failed'): void {
    if (this.state === 'closed') throw new Error('fail on a closed connection');
    this.state = 'closed';
    this.closeCode = code;
    this.handlers.onClose(code, reason);
  }

  ofType<T extends ClientFrame['type']>(type: T): Array<Extract<ClientFrame, { type: T }>> {
    return this.sent.filter((f) => f.type === type) as Array<Extract<ClientFrame, { type: T }>>;
  }

  send(text: string): void {
    if (this.state !== 'open') return;
    if (this.dieOnSend) {
      // The frame is lost and the close is reported from inside send, as a shaped link can.
      this.dieOnSend = false;
      this.fail(1006, 'link lost during send');
      return;
    }
    this.sent.push(JSON.parse(text) as ClientFrame);
  }

  /** The next send loses its frame and closes the connection before returning. */
  failOnNextSend(): void {
    this.dieOnSend = true;
  }

  private dieOnSend = false;

  close(code = 1000, reason = ''): void {
    if (this.state === 'closed') return;
    this.fail(code, reason);
  }

  abort(): void {
    if (this.state === 'closed') return;
    this.aborted = true;
    this.fail(1006, 'aborted');
  }
}

export class FakeServerTransport implements ClientTransport {
  readonly connections: FakeConnection[] = [];

  constructor(private readonly nowMs: () => number) {}

  open(url: string, token: string, handlers: ClientLinkHandlers): ClientLink {
    const connection = new FakeConnection(url, token, this.nowMs(), handlers);
    this.connections.push(connection);
    return connection;
  }

  /** The most recent connection attempt. */
  last(): FakeConnection {
    const connection = this.connections.at(-1);
    if (!connection) throw new Error('the phone opened no connection');
    return connection;
  }

  /** Every frame the phone sent, on all connections. */
  allSent(): ClientFrame[] {
    return this.connections.flatMap((c) => c.sent);
  }
}
