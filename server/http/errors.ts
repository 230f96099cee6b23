import { ERROR_CODES } from '../protocol/errorCodes.ts';
import type { ErrorCode } from '../protocol/errorCodes.ts';
import type { Reply } from './types.ts';

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

/** The reply for any error: its own code when it is an ApiError, INTERNAL otherwise. */
export function replyForError(error: unknown, onInternalError?: (error: unknown) => void): Reply {
  if (error instanceof ApiError) {
    return { status: error.status, body: errorBody(error.code, error.message), headers: error.headers };
  }
  // The client learns only that it may retry; the details go to the host's log hook.
  onInternalError?.(error);
  return { status: 500, body: errorBody('INTERNAL', ERROR_CODES.INTERNAL.text) };
}
