// The inner side of a ShapedTransport in tests: stands for the real socket. The test plays
// the server (accept, push, close) and sees what reached it.
import type { ClientLink, ClientLinkHandlers, ClientTransport } from '../../simulator/transport/ClientTransport.ts';

export class FakeInnerLink implements ClientLink {
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** Frames that reached the server, in order. */
  readonly received: string[] = [];
  aborted = false;

  constructor(private readonly handlers: ClientLinkHandlers) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  accept(): void {
    this.state = 'open';
    this.handlers.onOpen();
  }

  push(text: string): void {
    if (this.state === 'open') this.handlers.onFrame(text);
  }

  /** The server closes the connection. */
  serverClose(code = 1000, reason = ''): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.handlers.onClose(code, reason);
  }

  send(text: string): void {
    if (this.state === 'open') this.received.push(text);
  }

  close(code = 1000, reason = ''): void {
    this.serverClose(code, reason);
  }

  abort(): void {
    if (this.state === 'closed') return;
    this.aborted = true;
    this.serverClose(1006, 'aborted');
  }
}

export class FakeInnerTransport implements ClientTransport {
  readonly links: FakeInnerLink[] = [];

  open(_url: string, _token: string, handlers: ClientLinkHandlers): ClientLink {
    const link = new FakeInnerLink(handlers);
    this.links.push(link);
    return link;
  }

  get last(): FakeInnerLink {
    const link = this.links.at(-1);
    if (!link) throw new Error('no link opened');
    return link;
  }
}
