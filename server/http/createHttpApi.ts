import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, type Log } from '../ports/Log.ts';
import { NO_METRICS } from '../ports/Metrics.ts';
import { httpInstruments, type HttpInstruments } from '../metrics/instruments.ts';
import type { Random } from '../ports/Random.ts';
import { createStderrLog } from '../runtime/stderrLog.ts';
import { readJsonBody } from './body.ts';
import { chatRoutes } from './chatRoutes.ts';
import { answerClientError } from './clientError.ts';
import { badRequest, methodNotAllowed, notFound, replyForError } from './errors.ts';
import { parseRequestTarget } from './requestTarget.ts';
import { Router } from './router.ts';
import { systemRoutes } from './systemRoutes.ts';
import type { HttpApiDeps, Reply, RequestContext } from './types.ts';
import { userRoutes } from './userRoutes.ts';

export type { HttpApiDeps } from './types.ts';

/** The client address of requests answered without a socket (HttpApi.handle). */
const IN_PROCESS_CLIENT = 'in-process';

export interface HttpApi {
  server: http.Server;
  /** Starts listening (127.0.0.1 unless told otherwise) and resolves with the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting connections, closes idle ones and resolves when in-flight requests are done. */
  close(): Promise<void>;
  /**
   * Answers one request without a socket, through the same routes and error mapping (the
   * simulation engine provisions this way). `body` is the parsed JSON body, if any.
   */
  handle(request: InProcessRequest): Promise<Reply>;
}

export interface InProcessRequest {
  method: string;
  /** Path and query, e.g. `/v1/login`. */
  path: string;
  /** Lower-case header names. */
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * The stateless HTTP API of the reference cluster: accounts, login, friends, chats, history
 * and operator endpoints. Every piece of state lives behind the injected ports, so any number
 * of these can serve the same cluster.
 */
export function createHttpApi(deps: HttpApiDeps): HttpApi {
  const router = new Router([...userRoutes(deps), ...chatRoutes(deps), ...systemRoutes(deps)]);
  const report = internalErrorReporter(deps.log ?? createStderrLog('http'), deps.random.fork('correlation-ids'));
  const instruments = httpInstruments(deps.metrics ?? NO_METRICS);
  const server = http.createServer((req, res) => {
    serve(deps, router, req, res, report, instruments).catch((error: unknown) => {
      report(error, req.method, req.url);
      res.destroy();
    });
  });
  server.on('clientError', answerClientError);
  const handle = async (request: InProcessRequest): Promise<Reply> => {
    try {
      return await dispatch(router, request.method, request.path, request.headers ?? {}, IN_PROCESS_CLIENT, async () => request.body);
    } catch (error) {
      return replyForError(error, (e) => report(e, request.method, request.path));
    }
  };
  return { server, listen: (port, host) => listen(server, port, host), close: () => close(server), handle };
}

/** Logs an unexpected error and returns its correlation id. */
type InternalErrorReporter = (error: unknown, method?: string, target?: string) => string;

/** Correlation ids: 16 base36 characters from the API's own random stream (unique enough across API processes). */
function internalErrorReporter(log: Log, random: Random): InternalErrorReporter {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  return (error, method, target) => {
    let correlationId = '';
    for (let i = 0; i < 16; i++) correlationId += alphabet[random.nextInt(36)];
    // The path only: a query is the client's data and has no business in a log.
    log.error('http-internal-error', { correlationId, method: String(method), path: String(target).split('?', 1)[0]!.slice(0, 200), error: describeError(error) });
    return correlationId;
  };
}

/** Answers one request. Any failure becomes an error reply (500s logged with their correlation id). */
async function serve(
  deps: HttpApiDeps, router: Router, req: http.IncomingMessage, res: http.ServerResponse, report: InternalErrorReporter, instruments: HttpInstruments,
): Promise<void> {
  let reply: Reply;
  try {
    reply = await dispatch(router, req.method ?? '', req.url ?? '', req.headers, req.socket.remoteAddress ?? 'unknown', () => readJsonBody(req, deps.limits.httpBodyBytesMax));
  } catch (error) {
    reply = replyForError(error, (e) => report(e, req.method, req.url));
  }
  instruments.requests.inc({ class: `${Math.floor(reply.status / 100)}xx` });
  try {
    writeReply(res, reply);
  } catch (error) {
    report(error, req.method, req.url);
    res.destroy();
  }
}

/** Routes one request, from a socket or in-process (`HttpApi.handle`). */
async function dispatch(
  router: Router, method: string, target: string, headers: RequestContext['headers'], client: string, readJson: () => Promise<unknown>,
): Promise<Reply> {
  const url = requestUrl(target);
  const match = router.match(method, url.pathname);
  if (match.kind === 'none') throw notFound(`no route for ${url.pathname.slice(0, 200)}`);
  if (match.kind === 'wrong_method') throw methodNotAllowed(match.allowed);
  return match.route.handle({ params: match.params, query: url.searchParams, headers, client, readJson });
}

/** Parses the request target; only origin-form paths are served (no proxy-style absolute URLs). */
function requestUrl(target: string): URL {
  const url = parseRequestTarget(target);
  if (!url) throw badRequest('the request target must be a valid path');
  return url;
}

function writeReply(res: http.ServerResponse, reply: Reply): void {
  // A reply already under way cannot be replaced; cutting the connection is the honest signal.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.raw) {
    const payload = Buffer.from(reply.raw.text, 'utf8');
    res.setHeader('content-type', reply.raw.contentType);
    res.setHeader('content-length', payload.length);
    res.end(payload);
    return;
  }
  if (reply.body === undefined) {
    res.end();
    return;
  }
  const payload = Buffer.from(JSON.stringify(reply.body), 'utf8');
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', payload.length);
  res.end(payload);
}

function listen(server: http.Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: http.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
