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
 */
export interface InboundQueue {
  enqueue(key: string, payload: string, maxPendingPerKey: number): Promise<EnqueueResult>;
  /** Starts a consumer; its handler gets entries until `stop()` is called. */
  consume(consumerName: string, handler: (entry: QueueEntry) => Promise<void>): QueueConsumer;
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
