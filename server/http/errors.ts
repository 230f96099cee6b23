import { ERROR_CODES } from '../protocol/errorCodes.ts';
import type { ErrorCode } from '../protocol/errorCodes.ts';
import type { Reply } from './types.ts';
import { isBackendUnavailable } from '../ports/backendUnavailable.ts';

/**
 * A request that failed for a reason the client can act on. Handlers throw it; the request
 * wrapper turns it into an error body with a stable code, so nothing of it escapes the edge.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string = ERROR_CODES[code].text,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BAD_REQUEST', message);
}

export function notFound(message: string = ERROR_CODES.NOT_FOUND.text): ApiError {
  return new ApiError(404, 'NOT_FOUND', message);
}

export function forbidden(): ApiError {
  return new ApiError(403, 'FORBIDDEN');
}

export function methodNotAllowed(allowed: string[]): ApiError {
  return new ApiError(405, 'BAD_REQUEST', `method not allowed; use ${allowed.join(', ')}`, { allow: allowed.join(', ') });
}

export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

/** Header carrying the correlation id of a 500; the body's `error.correlationId` repeats it. */
export const CORRELATION_HEADER = 'x-correlation-id';

/** Seconds a client is told to wait (retry-after) before retrying a 503 UNAVAILABLE. */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/**
 * The reply for any error: its own code when it is an ApiError, 503 UNAVAILABLE (retryable,
 * not logged: an expected condition) when a backend cannot be reached, INTERNAL otherwise.
 * `reportInternal` logs an unexpected error and returns the correlation id to tell the client.
 */
export function replyForError(error: unknown, reportInternal: (error: unknown) => string): Reply {
  if (error instanceof ApiError) {
    return { status: error.status, body: errorBody(error.code, error.message), headers: error.headers };
  }
  if (isBackendUnavailable(error)) {
    return { status: 503, body: errorBody('UNAVAILABLE', ERROR_CODES.UNAVAILABLE.text), headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) } };
  }
  // The client learns only that it may retry, and an id to quote; the details go to the log.
  const correlationId = reportInternal(error);
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.text, correlationId } },
    headers: { [CORRELATION_HEADER]: correlationId },
  };
}
