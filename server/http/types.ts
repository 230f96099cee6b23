import type { IncomingHttpHeaders } from 'node:http';
import type { TokenService } from '../auth/TokenService.ts';
import type { TimeSource } from '../ports/Clock.ts';
import type { Directory } from '../ports/Directory.ts';
import type { Log } from '../ports/Log.ts';
import type { MessageStore } from '../ports/MessageStore.ts';
import type { Metrics, MetricsExposition, MetricsTarget } from '../ports/Metrics.ts';
import type { Random } from '../ports/Random.ts';
import type { ServerLimits } from '../protocol/limits.ts';

/** Everything the HTTP API needs from the outside; it keeps no state of its own. */
export interface HttpApiDeps {
  time: TimeSource;
  random: Random;
  directory: Directory;
  store: MessageStore;
  tokens: TokenService;
  limits: ServerLimits;
  /** WebSocket URLs of the gateways, e.g. ws://127.0.0.1:7001. */
  gatewayUrls: () => string[];
  admin: {
    token: string;
    /** Restarts every chat server and says how many were restarted. */
    restartChatServers(): Promise<number>;
  };
  /**
   * Where every unexpected error that became a 500 is logged (`http-internal-error`, with the
   * correlation id the response carries). Default: JSON lines on stderr.
   */
  log?: Log;
  /** Where requests and rate-limit refusals are counted (docs/metrics.md); default none. */
  metrics?: Metrics;
  /**
   * `GET /metrics` (this process's metrics) and `GET /v1/admin/metrics-targets` (every node's
   * metrics endpoint, Prometheus http_sd format), both for the admin token only. Absent: 404.
   */
  observability?: {
    exposition(accept: string): Promise<MetricsExposition>;
    targets(): MetricsTarget[];
  };
}

/** What a handler answers: a status and a JSON body (none for 204). */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A body that is not JSON (the metrics exposition); written as is, with its content type. */
  raw?: MetricsExposition;
}

/** One request as handlers see it. The body is read only when a handler asks for it. */
export interface RequestContext {
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The client's address (the socket's remote address; `in-process` without a socket): what per-address limits count. */
  client: string;
  readJson(): Promise<unknown>;
}

export type Handler = (ctx: RequestContext) => Promise<Reply>;

export interface Route {
  method: string;
  /** A path such as /v1/chats/:id/members/:user; `:name` segments become params. */
  pattern: string;
  handle: Handler;
}

/** The user and device a bearer token was issued to. */
export interface Caller {
  user: string;
  device: string;
}
