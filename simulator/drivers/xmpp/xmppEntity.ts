import { client as xmppClient } from '@xmpp/client';
import { isWebSocketService, linkConnectionClass, type TransportClass } from './linkSocket.ts';
import type { XmlElement, XmppConnectionOptions, XmppError } from './xmppTypes.ts';

/** The part of xmpp.js's client entity used here (its bundled types predate 0.14). */
export interface XmppEntity {
  status: string;
  jid: { toString(): string; bare(): { toString(): string }; resource?: string; getResource?(): string } | null;
  socket: { destroy(error?: Error): void } | null;
  options: { service?: string; domain?: string; lang?: string };
  transports: TransportClass[];
  on(event: string, fn: (...args: never[]) => void): void;
  off(event: string, fn: (...args: never[]) => void): void;
  /** Opens the socket (not the stream). */
  connect(service: string): Promise<unknown>;
  /** Opens the stream; resolves at the server's stream header (negotiation follows in xmpp.js's middleware). */
  open(options: { domain?: string; lang?: string }): Promise<unknown>;
  stop(): Promise<unknown>;
  send(element: unknown): Promise<void>;
  reconnect: { delay: number; stop(): void; start(): void };
  iqCaller: { request(iq: unknown, timeoutMs?: number): Promise<XmlElement> };
  streamManagement: {
    enabled: boolean;
    id: string;
    /** Stanzas handled from the server (the `h` of <resume/>), stanzas the server acknowledged, and those not yet acknowledged. */
    inbound: number;
    outbound: number;
    outbound_q: unknown[];
    max: unknown;
    requestAckInterval: number;
    timeout: number;
    on(event: 'ack' | 'fail', fn: (stanza: XmlElement) => void): void;
    on(event: 'resumed', fn: () => void): void;
    off(event: string, fn: (...args: never[]) => void): void;
  };
}

const DEFAULT_RECONNECT_DELAY_MS = 200;
const DEFAULT_ACK_REQUEST_INTERVAL_MS = 5_000;

/** The xmpp.js client for one XmppConnection: credentials, reconnect delay and XEP-0198 timing set. */
export function createXmppEntity(options: XmppConnectionOptions, requestTimeoutMs: number): XmppEntity {
  // xmpp.js's own timeout for opening and closing a stream is 2 s by default, which 50
  // concurrent logins on this machine exceeded (a TimeoutError without message): use ours.
  const params: Record<string, unknown> = { service: options.service, domain: options.domain, timeout: requestTimeoutMs };
  const credentials = { username: options.username, password: options.password };
  const wanted = options.saslMechanism ?? 'SCRAM-SHA-1';
  params.credentials = async (authenticate: (c: typeof credentials, mechanism: string) => Promise<void>, mechanisms: string[]) => {
    const mechanism = mechanisms.includes(wanted) ? wanted : mechanisms.find((m) => m !== 'PLAIN');
    if (mechanism === undefined) throw new Error(`SASL: the server offers none of ${wanted}, or a mechanism other than PLAIN (${mechanisms.join(', ')})`);
    await authenticate(credentials, mechanism);
  };
  if (options.resource !== undefined) params.resource = options.resource;
  const entity = xmppClient(params) as unknown as XmppEntity;
  entity.reconnect.delay = options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS;
  // The owner reconnects (the phone's own backoff), not xmpp.js on its timer.
  if (options.autoReconnect === false) entity.reconnect.stop();
  if (options.transport && isWebSocketService(options.service)) {
    // RFC 7395 over the link handed in (a shaped link in runs) instead of xmpp.js's own sockets.
    const webSocket = entity.transports.find((t) => acceptsService(t, options.service));
    if (!webSocket) throw new Error('@xmpp/client registered no WebSocket transport');
    entity.transports = [linkConnectionClass(webSocket, options.transport)];
  }
  // xmpp.js 0.14 passes socket data to its parser without checking that one is attached; data
  // arriving after the stream closed (parser detached) threw an uncaught TypeError once in
  // these tests. Such data belongs to no stream: drop it. (Bound at the first connect.)
  const raw = entity as unknown as { _onData(data: Buffer): void; parser: unknown };
  const onData = raw._onData;
  raw._onData = function guardedOnData(this: typeof raw, data: Buffer): void {
    if (this.parser) onData.call(this, data);
  };
  // xmpp.js unsubscribes its socket listeners, 'error' included, when it lets a socket go
  // (_detachSocket, on stop or close) before the socket has fully closed: a reset arriving then
  // (ejabberd restarted or stopped under load: ECONNRESET) was an unhandled 'error' that killed
  // the phone worker thread with every phone on it. Each socket keeps a listener of its own; while
  // attached, xmpp.js still reports errors as before.
  const rawSockets = entity as unknown as { _attachSocket(socket: { on(event: 'error', fn: () => void): void }): void };
  const attachSocket = rawSockets._attachSocket;
  rawSockets._attachSocket = function keptErrorListener(this: typeof rawSockets, socket): void {
    socket.on('error', () => {});
    attachSocket.call(this, socket);
  };
  const sm = entity.streamManagement;
  sm.requestAckInterval = options.ackRequestIntervalMs ?? DEFAULT_ACK_REQUEST_INTERVAL_MS;
  // Without an answer to <r/> for this long the link is taken as dead (xmpp.js disconnects).
  sm.timeout = Math.max(requestTimeoutMs, sm.requestAckInterval * 2);
  return entity;
}

function acceptsService(transport: TransportClass, service: string): boolean {
  try {
    return (transport.prototype as { socketParameters(s: string): unknown }).socketParameters(service) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Hands a dropped link's XEP-0198 state to the entity of the next link: the full JID, the
 * stream id to resume, the count of stanzas handled (the `h` the server needs) and the sent
 * stanzas not yet acknowledged (re-sent after <resumed/>, or failed if resumption fails). A
 * fresh xmpp.js entity per link: a link that died mid-negotiation leaves xmpp.js procedures
 * listening on its entity, which would answer the next link's negotiation a second time.
 */
export function carryStreamState(from: XmppEntity, to: XmppEntity): void {
  const a = from.streamManagement;
  const b = to.streamManagement;
  if (!a.id) return;
  to.jid = from.jid;
  b.id = a.id;
  b.inbound = a.inbound;
  b.outbound = a.outbound;
  b.outbound_q = a.outbound_q;
  b.max = a.max;
  a.outbound_q = [];
  a.id = '';
}

/** A failed `start` as an XmppError with a stable code. */
export function classifyStartError(err: unknown): XmppError {
  const e = err as Error & { code?: string; condition?: string; name?: string };
  const message = e?.message ?? String(err);
  if (e?.name === 'SASLError') {
    const error: XmppError = { code: 'auth_failed', message };
    if (e.condition) error.condition = e.condition;
    return error;
  }
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || e?.code === 'ECONNERROR') return { code: 'unreachable', message };
  if (e?.name === 'TimeoutError') return { code: 'timeout', message };
  const error: XmppError = { code: 'stream_error', message };
  if (e?.condition) error.condition = e.condition;
  return error;
}
