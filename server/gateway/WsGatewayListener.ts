import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { TokenService } from '../auth/TokenService.ts';
import { answerClientError } from '../http/clientError.ts';
import { CORRELATION_HEADER } from '../http/errors.ts';
import { parseRequestTarget } from '../http/requestTarget.ts';
import { describeError, type Log } from '../ports/Log.ts';
import { CLOSE_CODES, ERROR_CODES } from '../protocol/errorCodes.ts';
import { createStderrLog } from '../runtime/stderrLog.ts';
import { SUBPROTOCOL } from '../protocol/frames.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import { admitConnection, type AdmissionDeps } from './admitConnection.ts';
import type { GatewayEntry } from './GatewayListener.ts';
import type { ServerConnection } from './ServerConnection.ts';

export interface WsGatewayListenerOptions extends AdmissionDeps {
  /** The gateway, or a fault wrapper in front of it (GatewayListenerDeps.gateway). */
  gateway: GatewayEntry;
  tokens: TokenService;
  limits: ServerLimits;
  /** Listen backlog: a reconnect storm of thousands at once needs more than Node's 511. */
  listenBacklog?: number;
  /** Where unexpected failures of the HTTP side go (default: JSON lines on stderr). */
  log?: Log;
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
  private readonly log: Log;
  /** Numbers this listener's incidents: correlation ids are `<gateway id>-e<n>`. */
  private incidents = 0;

  constructor(private readonly options: WsGatewayListenerOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.frameBytesHardMax,
      perMessageDeflate: false, // compression state costs ~300 KB per connection; gateways are lean
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.log = options.log ?? createStderrLog(`gateway ${options.gateway.id}`);
    this.server = http.createServer((req, res) => {
      try {
        res.writeHead(426, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'BAD_REQUEST', message: 'this port speaks WebSocket (chatsim.v1) only' } }));
      } catch (error) {
        this.incident('gateway-request-failed', error, req);
        res.destroy();
      }
    });
    this.server.on('clientError', answerClientError);
    // Whatever escapes the upgrade handler would be an uncaught exception, which ends the
    // process and every connection on it: answer 500 and log instead.
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.onUpgrade(req, socket, head);
      } catch (error) {
        const correlationId = this.incident('gateway-upgrade-failed', error, req);
        rejectUpgrade(socket, 500, 'INTERNAL', correlationId);
      }
    });
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

  // Memory: what an idle connection keeps alive must not capture the upgrade's scope. V8 gives
  // every closure of one function a single shared context, so a long-lived listener defined
  // here next to closures that use `req`, `head` or the parsed target kept all of them (the
  // request's headers, the URL with the token: 2.7 KiB per idle connection) for the life of
  // the connection. Listeners that outlive the upgrade are module-level functions.
  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroyOnError);
    const target = parseRequestTarget(req.url);
    if (!target) return rejectUpgrade(socket, 400, 'BAD_REQUEST');
    void admitConnection(this.options, tokenOf(req, target)).then((admission) => {
      if (!admission.ok) return rejectUpgrade(socket, admission.status, admission.code);
      this.completeUpgrade(req, socket, head, admission.identity);
    }).catch((error: unknown) => {
      const correlationId = this.incident('gateway-upgrade-failed', error, req);
      rejectUpgrade(socket, 500, 'INTERNAL', correlationId);
    });
  }

  private completeUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, identity: { user: string; device: string }): void {
    if (this.closed || socket.destroyed) return void socket.destroy();
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(SUBPROTOCOL)) return rejectUpgrade(socket, 400, 'UNSUPPORTED_PROTOCOL');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // ws listens for the socket's errors from here on (and destroys it on one).
      socket.removeListener('error', destroyOnError);
      try {
        this.sockets.add(ws);
        this.options.gateway.accept(new WsServerConnection(ws, socket, this.sockets), identity);
      } catch (error) {
        this.incident('gateway-accept-failed', error, req);
        ws.terminate();
      }
    });
  }

  /** Logs an unexpected failure and returns the correlation id the client is told. */
  private incident(event: string, error: unknown, req: http.IncomingMessage): string {
    const correlationId = `${this.options.gateway.id}-e${++this.incidents}`;
    // The path only: the query may hold a token, which must not end up in a log.
    this.log.error(event, { correlationId, method: String(req.method), path: String(req.url).split('?', 1)[0]!.slice(0, 200), error: describeError(error) });
    return correlationId;
  }
}

/** The upgrade's error listener (`this` is the socket): shared, so it captures nothing. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

function tokenOf(req: http.IncomingMessage, target: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  return target.searchParams.get('token') ?? undefined;
}

const UPGRADE_MESSAGES: Record<string, string> = {
  UNSUPPORTED_PROTOCOL: CLOSE_CODES.UNSUPPORTED_PROTOCOL.text,
  BAD_REQUEST: 'the request target is not a valid path',
  INTERNAL: ERROR_CODES.INTERNAL.text,
};

/** Answers an upgrade with a plain HTTP error and closes the socket. Never throws. */
function rejectUpgrade(socket: Duplex, status: number, code: string, correlationId?: string): void {
  const known = (ERROR_CODES as Record<string, { text: string } | undefined>)[code];
  const message = UPGRADE_MESSAGES[code] ?? (code === 'BAD_TOKEN' || code === 'TOKEN_EXPIRED' || !known ? 'authentication failed' : known.text);
  const error = { code, message, ...(correlationId ? { correlationId } : {}) };
  const body = JSON.stringify({ error });
  const extra = correlationId ? `${CORRELATION_HEADER}: ${correlationId}\r\n` : '';
  try {
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json\r\n${extra}` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  } catch {
    socket.destroy();
  }
}

/** Where a WebSocket's listeners (shared functions, `this` is the WebSocket) find their connection. */
const CONNECTION = Symbol('chatsim.connection');
type GatewaySocket = WebSocket & { [CONNECTION]?: WsServerConnection };

/**
 * One WebSocket as the gateway's ServerConnection. Memory: the gateway holds thousands of
 * these idle, so a connection is this one object: its methods are on the prototype and its
 * listeners on the WebSocket are the shared functions below, which find it through a symbol
 * property. (Closures per connection cost more than their 32 bytes here: tsx compiles with
 * esbuild's keepNames, whose __name(fn, "name") turns each named arrow function's properties
 * into a dictionary of about 256 bytes. The closure version of this wrapper allocated eight.)
 */
class WsServerConnection implements ServerConnection {
  closeHandler: ((code: number) => void) | undefined = undefined;
  frameHandler: ((text: string, bytes: number, binary?: boolean) => void) | undefined = undefined;
  aliveHandler: (() => void) | undefined = undefined;
  closed = false;
  // Frames written to one connection in one go (a `sent` reply and a receipt, a burst of
  // deliveries) leave in one writev instead of one each: the socket is corked at the first send
  // and uncorked once the callbacks and promise jobs under way have run (process.nextTick runs
  // after the microtask queue drains). ws corks each frame itself; corks nest. The benchmark's
  // profile showed writev, one syscall per frame, as the cluster's largest self time.
  corked = false;

  /** `sockets`: the listener's open WebSockets; `ws` leaves it when it closes. */
  constructor(readonly ws: GatewaySocket, readonly socket: Duplex, readonly sockets: Set<WebSocket>) {
    ws[CONNECTION] = this;
    ws.on('close', onWsClose);
    ws.on('error', onWsError);
  }

  send(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.ws.send(text);
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  onFrame(handler: (text: string, bytes: number, binary?: boolean) => void): void {
    if (this.frameHandler === undefined) this.ws.on('message', onWsMessage);
    this.frameHandler = handler;
  }

  /** ws answers pings itself; a client library's keep-alive (ping, or an unsolicited pong) is a heartbeat too. */
  onAlive(handler: () => void): void {
    if (this.aliveHandler === undefined) {
      this.ws.on('ping', onWsAlive);
      this.ws.on('pong', onWsAlive);
    }
    this.aliveHandler = handler;
  }

  onClose(handler: (code: number) => void): void {
    this.closeHandler = handler;
  }
}

function uncork(connection: WsServerConnection): void {
  connection.corked = false;
  connection.socket.uncork();
}

function onWsClose(this: GatewaySocket, code: number): void {
  const connection = this[CONNECTION]!;
  connection.sockets.delete(this);
  if (connection.closed) return;
  connection.closed = true;
  connection.closeHandler?.(code);
}

function onWsError(this: GatewaySocket): void {
  this.terminate();
}

function onWsMessage(this: GatewaySocket, data: RawData, isBinary: boolean): void {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  const handler = this[CONNECTION]!.frameHandler!;
  // Binary frames are not part of v1: the gateway refuses them, so they are never decoded.
  if (isBinary) handler('', buffer.length, true);
  else handler(buffer.toString('utf8'), buffer.length);
}

function onWsAlive(this: GatewaySocket): void {
  this[CONNECTION]!.aliveHandler!();
}
