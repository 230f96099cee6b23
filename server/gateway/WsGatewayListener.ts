import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { TokenService } from '../auth/TokenService.ts';
import { CLOSE_CODES, ERROR_CODES, type ErrorCode } from '../protocol/errorCodes.ts';
import { SUBPROTOCOL } from '../protocol/frames.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import { admitConnection, type AdmissionDeps } from './admitConnection.ts';
import type { Gateway } from './Gateway.ts';
import type { ServerConnection } from './ServerConnection.ts';

export interface WsGatewayListenerOptions extends AdmissionDeps {
  gateway: Gateway;
  tokens: TokenService;
  limits: ServerLimits;
  /** Listen backlog: a reconnect storm of thousands at once needs more than Node's 511. */
  listenBacklog?: number;
}

/**
 * Serves one Gateway over real WebSockets: checks the token and subprotocol at the HTTP
 * upgrade (401 / 400 before any WebSocket exists), then hands the socket to the gateway.
 */
export class WsGatewayListener {
  readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private closed = false;

  constructor(private readonly options: WsGatewayListenerOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.frameBytesHardMax,
      perMessageDeflate: false, // compression state costs ~300 KB per connection; gateways are lean
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.server = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'BAD_REQUEST', message: 'this port speaks WebSocket (chatsim.v1) only' } }));
    });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, backlog: this.options.listenBacklog ?? 4096 }, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting; existing sockets are the gateway's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.sockets) socket.terminate();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    void admitConnection(this.options, tokenOf(req)).then((admission) => {
      if (!admission.ok) return rejectUpgrade(socket, admission.status, admission.code);
      this.completeUpgrade(req, socket, head, admission.identity);
    });
  }

  private completeUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, identity: { user: string; device: string }): void {
    if (this.closed || socket.destroyed) return void socket.destroy();
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(SUBPROTOCOL)) return rejectUpgrade(socket, 400, 'UNSUPPORTED_PROTOCOL');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.once('close', () => this.sockets.delete(ws));
      this.options.gateway.accept(wrapSocket(ws, socket), identity);
    });
  }
}

function tokenOf(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const url = new URL(req.url ?? '/', 'http://gateway');
  return url.searchParams.get('token') ?? undefined;
}

function rejectUpgrade(socket: Duplex, status: number, code: string): void {
  const message = code === 'UNSUPPORTED_PROTOCOL' ? CLOSE_CODES.UNSUPPORTED_PROTOCOL.text : code === 'BAD_TOKEN' || code === 'TOKEN_EXPIRED' ? 'authentication failed' : ERROR_CODES[code as ErrorCode].text;
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function wrapSocket(ws: WebSocket, socket: Duplex): ServerConnection {
  let closeHandler: ((code: number) => void) | undefined;
  let closed = false;
  // Frames written to one connection in one go (a `sent` reply and a receipt, a burst of
  // deliveries) leave in one writev instead of one each: the socket is corked at the first send
  // and uncorked once the callbacks and promise jobs under way have run (process.nextTick runs
  // after the microtask queue drains). ws corks each frame itself; corks nest. The benchmark's
  // profile showed writev, one syscall per frame, as the cluster's largest self time.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  ws.on('close', (code) => {
    if (closed) return;
    closed = true;
    closeHandler?.(code);
  });
  ws.on('error', () => ws.terminate());
  return {
    send: (text) => {
      if (ws.readyState !== ws.OPEN) return;
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      ws.send(text);
    },
    bufferedBytes: () => ws.bufferedAmount,
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    onFrame: (handler) => {
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        // Binary frames are not part of v1; hand them on as text so the chat server rejects them as BAD_FRAME.
        handler(isBinary ? buffer.toString('latin1') : buffer.toString('utf8'), buffer.length);
      });
    },
    onClose: (handler) => {
      closeHandler = handler;
    },
  };
}
