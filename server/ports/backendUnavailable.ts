/**
 * Whether an error says a backend (message store, directory, presence store, broker) cannot be
 * reached right now, as opposed to a bug: the injected `store-outage` / presence-store faults
 * (BackendUnavailable, code BACKEND_UNAVAILABLE), cassandra-driver's "no host / timed out",
 * ioredis' "connection closed / retries exhausted", and the socket errors of a refused or dropped
 * connection. Edges answer these with the retryable UNAVAILABLE (HTTP 503), as the gateway's
 * upgrade does, instead of a 500 INTERNAL logged with a stack.
 */
export function isBackendUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (UNAVAILABLE_NAMES.has(error.name)) return true;
  return error.message === 'Connection is closed.';
}

/** BACKEND_UNAVAILABLE: server/faults/FaultWindows.ts; the rest: Node's socket errors. */
const UNAVAILABLE_CODES = new Set(['BACKEND_UNAVAILABLE', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);
/** cassandra-driver (errors.NoHostAvailableError, OperationTimedOutError, BusyConnectionError) and ioredis. */
const UNAVAILABLE_NAMES = new Set(['NoHostAvailableError', 'OperationTimedOutError', 'BusyConnectionError', 'MaxRetriesPerRequestError']);
