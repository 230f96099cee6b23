import { client as xmppClient } from '@xmpp/client';
import type { XmlElement, XmppConnectionOptions, XmppError } from './xmppTypes.ts';

/** The part of xmpp.js's client entity used here (its bundled types predate 0.14). */
export interface XmppEntity {
  status: string;
  jid: { toString(): string; bare(): { toString(): string }; resource?: string; getResource?(): string } | null;
  socket: { destroy(error?: Error): void } | null;
  options: { service?: string; domain?: string };
  on(event: string, fn: (...args: never[]) => void): void;
  off(event: string, fn: (...args: never[]) => void): void;
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
  send(element: unknown): Promise<void>;
  reconnect: { delay: number; stop(): void; start(): void };
  iqCaller: { request(iq: unknown, timeoutMs?: number): Promise<XmlElement> };
  streamManagement: {
    enabled: boolean;
    id: string;
    requestAckInterval: number;
    timeout: number;
    on(event: 'ack' | 'fail', fn: (stanza: XmlElement) => void): void;
    on(event: 'resumed', fn: () => void): void;
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

/** A failed `start` as an XmppError with a stable code. */
export function classifyStartError(err: unknown): XmppError {
  const e = err as Error & { code?: string; condition?: string; name?: string };
  const message = e?.message ?? String(err);
  if (e?.name === 'SASLError') {
    const error: XmppError = { code: 'auth_failed', message };
    if (e.condition) error.condition = e.condition;
    return error;
  }
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ECONNRESET' || e?.code === 'EPIPE') return { code: 'unreachable', message };
  if (e?.name === 'TimeoutError') return { code: 'timeout', message };
  const error: XmppError = { code: 'stream_error', message };
  if (e?.condition) error.condition = e.condition;
  return error;
}
