/**
 * The queue that carries client frames from gateways to chat servers (Redis Streams with
 * consumer groups in production, partitioned by key).
 *
 * Contract:
 * - At least once: every accepted entry is handed to a consumer until one acknowledges it.
 *   A consumer acknowledges by resolving its handler; a handler that throws, or a consumer
 *   that stops or dies before resolving, leaves the entry to be handed out again (to any
 *   consumer). Consumers must therefore process idempotently.
 * - Ordered per key: entries with the same key are handed out one at a time, in enqueue
 *   order; the next entry of a key is handed out only after the previous one was
 *   acknowledged. Entries of different keys are processed concurrently. (Gateways use the
 *   connection id as the key, so one connection's frames are processed in order.)
 * - Bounded per key: `enqueue` refuses an entry when the key already has `maxPendingPerKey`
 *   entries not yet acknowledged, and says so (`accepted: false`); nothing is dropped
 *   silently.
 * - Back-off: an entry whose handler failed is handed out again only after
 *   `retryBaseDelayMs * 2^redeliveries` (capped at `retryMaxDelayMs`) on the queue's timers;
 *   its key waits meanwhile, other keys do not, and the event loop turns (a handler that
 *   always fails never starves timers or I/O).
 * - Poison entries: an entry handed out `poisonAttemptsMax` times without an acknowledgement
 *   (its handler failed each time, or its consumer died holding it) is dead-lettered: taken
 *   out of its key's lane (the key's next entries go on), never handed out again, recorded
 *   in `deadLetters` (the newest `deadLettersMax` are kept) under a correlation id, and
 *   reported once to the `onDeadLetter` hook of the consumer that gave up on it.
 */
export interface InboundQueue {
  enqueue(key: string, payload: string, maxPendingPerKey: number): Promise<EnqueueResult>;
  /** Starts a consumer; its handler gets entries until `stop()` is called. */
  consume(consumerName: string, handler: (entry: QueueEntry) => Promise<void>, options?: ConsumeOptions): QueueConsumer;
  /** The newest dead letters, at most `limit`, oldest first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
}

/** Defaults of the retry and poison limits, the same for every implementation. */
export const INBOUND_QUEUE_RETRY_DEFAULTS = {
  /** First back-off after a failed handler, in ms; doubles with each redelivery. */
  retryBaseDelayMs: 10,
  /** Longest back-off, in ms. */
  retryMaxDelayMs: 2_000,
  /**
   * Hand-outs without an acknowledgement before an entry is dead-lettered. With the default
   * back-off, 20 attempts span about 25 s: a backend outage shorter than that loses nothing.
   */
  poisonAttemptsMax: 20,
  /** Dead letters kept for `deadLetters` (per partition on Redis), oldest dropped first. */
  deadLettersMax: 1_000,
} as const;

/** Longest failure reason kept in a dead letter, in characters. */
export const DEAD_LETTER_REASON_CHARS_MAX = 500;

/** The back-off before redelivery number `redeliveries + 1` (see the contract). */
export function retryDelayMs(redeliveries: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(redeliveries, 30));
}

/** Why a handler failed, as a dead letter's reason. */
export function failureReason(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : typeof error === 'string' ? error : 'a non-Error value was thrown';
  return text.slice(0, DEAD_LETTER_REASON_CHARS_MAX);
}

export interface ConsumeOptions {
  /**
   * Told about each entry this consumer gave up on (see the contract), after it was taken
   * out of the queue. A hook that throws or rejects changes nothing.
   */
  onDeadLetter?: (letter: DeadLetter) => void | Promise<void>;
}

export interface DeadLetter {
  /** Names this dead letter in logs, in what the sender is told, and in `deadLetters`. */
  correlationId: string;
  key: string;
  payload: string;
  /** How many times a handler got the entry. */
  attempts: number;
  /** The last failure (bounded to DEAD_LETTER_REASON_CHARS_MAX characters). */
  reason: string;
}

export interface EnqueueResult {
  accepted: boolean;
  /** Entries of this key not yet acknowledged, counting this one when accepted. */
  pending: number;
}

export interface QueueEntry {
  key: string;
  payload: string;
  /** How many times this entry was handed out before (0 on the first delivery). */
  redeliveries: number;
}

export interface QueueConsumer {
  /**
   * Stops taking entries. Graceful (`abandonInFlight: false`): waits for handlers under way
   * to finish and acknowledges them. Abrupt (`abandonInFlight: true`, a crash): returns at
   * once and their entries are handed out again.
   */
  stop(options?: { abandonInFlight?: boolean }): Promise<void>;
}
