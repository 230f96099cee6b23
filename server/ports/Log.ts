/**
 * Where the server reports what an operator must see: an HTTP 500, a failed upgrade, a queue
 * entry given up on. Not a debug log: each record is an incident someone may have to chase.
 *
 * Contract: `error` never throws and returns at once; one call is one record. `event` is a
 * fixed kebab-case name (`http-internal-error`, `queue-dead-letter`, ...); `fields` carry the
 * details, always with `correlationId` when the client was told one, so the client's report
 * and the log line can be matched.
 */
export interface Log {
  error(event: string, fields: Readonly<Record<string, string | number>>): void;
}

/** An error as one log field: name, message and stack for an Error, a placeholder for anything else. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}\n${error.stack ?? ''}`;
  return typeof error === 'string' ? error : 'a non-Error value was thrown';
}
