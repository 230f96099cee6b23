import type { Redis } from 'ioredis';
import type { TimeSource } from '../ports/Clock.ts';
import {
  INBOUND_QUEUE_RETRY_DEFAULTS,
  type ConsumeOptions, type DeadLetter, type EnqueueResult, type InboundQueue, type QueueConsumer, type QueueEntry,
} from '../ports/InboundQueue.ts';
import { DEFAULT_REDIS_PREFIX } from './RedisScript.ts';
import { ENQUEUE, fieldOf } from './queueScripts.ts';
import { StreamConsumer } from './StreamConsumer.ts';

export interface RedisInboundQueueOptions {
  /**
   * Connection for every non-blocking command (scripts, XAUTOCLAIM, CLIENT UNBLOCK). Owned by
   * the caller (may be shared with other adapters). Each consumer makes one more connection
   * of its own with `duplicate()` for its blocking XREADGROUP, and closes it when it stops.
   */
  client: Redis;
  /** Timers for lease renewal, claim sweeps and retry back-off (Redis's clock judges idleness). */
  time: TimeSource;
  /** Namespace of this queue's keys (default `chatsim:`); keys are `<prefix>queue:{<partition>}:...`. */
  prefix?: string;
  /**
   * Number of turn streams keys are spread over by a hash of the key (default 1). Every key of
   * a partition shares the hash tag `{<partition>}`, so each script touches one slot.
   */
  partitions?: number;
  /** Consumer group name (default `consumers`). */
  group?: string;
  /**
   * How long a turn may sit idle in a consumer's pending list before another consumer claims
   * it (XAUTOCLAIM min-idle-time), in ms (default 10,000). Live consumers renew their turns
   * every `renewIntervalMs`, so only a consumer that died (or whose event loop stalled this
   * long) loses them; its entries are then handed out again, `redeliveries` counting it.
   */
  claimIdleMs?: number;
  /** How often a consumer renews the idle time of the turns it holds, in ms (default claimIdleMs / 4). */
  renewIntervalMs?: number;
  /** How often a consumer looks for turns to claim from dead consumers, in ms (default claimIdleMs / 2). */
  claimIntervalMs?: number;
  /** XREADGROUP BLOCK timeout, in ms (default 2,000). A graceful stop interrupts it with CLIENT UNBLOCK. */
  blockMs?: number;
  /** Most keys one consumer processes at once (default 64). */
  maxInFlight?: number;
  /**
   * Most entries of one key a consumer processes in one turn before handing the key back to
   * the end of the turn stream (default 32), so a busy key cannot keep a consumer to itself.
   */
  maxEntriesPerTurn?: number;
  /** Back-off before an entry whose handler failed is handed out again, in ms: base * 2^redeliveries (default 10) ... */
  retryBaseDelayMs?: number;
  /** ... capped at this many ms (default 2,000). The key waits meanwhile; other keys do not. */
  retryMaxDelayMs?: number;
  /** Hand-outs without an acknowledgement before an entry is dead-lettered (default 20, see the InboundQueue contract). */
  poisonAttemptsMax?: number;
  /** Dead letters kept per partition (default 1,000; the dead stream is trimmed to it). */
  deadLettersMax?: number;
  /** Pause after a failed XREADGROUP or XAUTOCLAIM (connection trouble), in ms (default 200). */
  errorBackoffMs?: number;
  /** Told about Redis errors the queue recovered from (default: ignored). */
  onError?: (error: unknown) => void;
}

const INBOUND_QUEUE_DEFAULTS = {
  partitions: 1,
  group: 'consumers',
  claimIdleMs: 10_000,
  blockMs: 2_000,
  maxInFlight: 64,
  maxEntriesPerTurn: 32,
  retryBaseDelayMs: INBOUND_QUEUE_RETRY_DEFAULTS.retryBaseDelayMs,
  retryMaxDelayMs: INBOUND_QUEUE_RETRY_DEFAULTS.retryMaxDelayMs,
  poisonAttemptsMax: INBOUND_QUEUE_RETRY_DEFAULTS.poisonAttemptsMax,
  deadLettersMax: INBOUND_QUEUE_RETRY_DEFAULTS.deadLettersMax,
  errorBackoffMs: 200,
} as const;

/**
 * InboundQueue on Redis Streams with a consumer group, ordered per key by *turns*.
 *
 * Key layout (Q = `<prefix>queue:{<partition>}:`):
 * - `Q lane:<key>`: list, the key's entries not yet acknowledged, in enqueue order. Its length
 *   is the key's pending count, so the `maxPendingPerKey` bound is checked and the entry
 *   pushed in one script.
 * - `Q turns`: stream with consumer group `group`. It holds one *turn* (`k` = key) per
 *   non-empty lane, and only one: a turn is XADDed when a lane becomes non-empty and when a
 *   turn is handed back while the lane still has entries. Consumers XREADGROUP turns; the
 *   holder of a key's turn, and only it, processes the lane's head, so entries of one key are
 *   handed out one at a time, in order, the next only after the previous was acknowledged,
 *   while turns of different keys go to any consumer concurrently.
 * - `Q attempts`: hash, key -> how many times the lane's head was handed out (`redeliveries`
 *   is that minus one, whoever handed it out: the same consumer, another after a failure, or a
 *   claimer after a crash).
 * - `Q dead`: stream of dead letters (`k` key, `p` payload, `a` attempts, `r` reason), trimmed
 *   to `deadLettersMax`. A head whose handler failed for the `poisonAttemptsMax`th time, or
 *   that was handed out that often to consumers that died with it, is moved here by the
 *   holder of its turn (one script, so it is either still in the lane or here); the
 *   correlation id is `dl-<partition>-<stream id>`.
 *
 * A consumer acknowledges with a script that pops the head and XACKs (and XDELs) the turn,
 * or keeps the turn and hands itself the next entry (at most `maxEntriesPerTurn` in a row),
 * after checking with XPENDING that the turn is still its own: a consumer that lost its turn
 * acknowledges nothing. A failed handler holds the turn for a back-off, then hands it back.
 * Turns held by a consumer that died stay in its pending list; live consumers renew theirs
 * (XCLAIM JUSTID) every `renewIntervalMs`, and every `claimIntervalMs` each consumer
 * XAUTOCLAIMs turns idle for `claimIdleMs`, so a dead consumer's keys resume elsewhere after
 * that long. A consumer whose process stalls longer than `claimIdleMs` can lose a turn while
 * its handler still runs: the entry is then processed twice (at least once) and, for that
 * moment, alongside the key's next entry on the claimer; its acknowledgement is refused.
 */
export class RedisInboundQueue implements InboundQueue {
  readonly client: Redis;
  readonly time: TimeSource;
  readonly settings: Required<Omit<RedisInboundQueueOptions, 'client' | 'time' | 'prefix' | 'onError'>>;
  readonly onError: (error: unknown) => void;
  private readonly keyPrefix: string;
  private groupsReady: Promise<void> | undefined;

  constructor(options: RedisInboundQueueOptions) {
    this.client = options.client;
    this.time = options.time;
    this.keyPrefix = `${options.prefix ?? DEFAULT_REDIS_PREFIX}queue:`;
    const claimIdleMs = options.claimIdleMs ?? INBOUND_QUEUE_DEFAULTS.claimIdleMs;
    this.settings = {
      partitions: Math.max(1, Math.floor(options.partitions ?? INBOUND_QUEUE_DEFAULTS.partitions)),
      group: options.group ?? INBOUND_QUEUE_DEFAULTS.group,
      claimIdleMs,
      renewIntervalMs: options.renewIntervalMs ?? Math.max(1, Math.floor(claimIdleMs / 4)),
      claimIntervalMs: options.claimIntervalMs ?? Math.max(1, Math.floor(claimIdleMs / 2)),
      blockMs: options.blockMs ?? INBOUND_QUEUE_DEFAULTS.blockMs,
      maxInFlight: Math.max(1, options.maxInFlight ?? INBOUND_QUEUE_DEFAULTS.maxInFlight),
      maxEntriesPerTurn: Math.max(1, options.maxEntriesPerTurn ?? INBOUND_QUEUE_DEFAULTS.maxEntriesPerTurn),
      retryBaseDelayMs: options.retryBaseDelayMs ?? INBOUND_QUEUE_DEFAULTS.retryBaseDelayMs,
      retryMaxDelayMs: options.retryMaxDelayMs ?? INBOUND_QUEUE_DEFAULTS.retryMaxDelayMs,
      poisonAttemptsMax: Math.max(1, options.poisonAttemptsMax ?? INBOUND_QUEUE_DEFAULTS.poisonAttemptsMax),
      deadLettersMax: Math.max(1, options.deadLettersMax ?? INBOUND_QUEUE_DEFAULTS.deadLettersMax),
      errorBackoffMs: options.errorBackoffMs ?? INBOUND_QUEUE_DEFAULTS.errorBackoffMs,
    };
    if (this.settings.renewIntervalMs >= claimIdleMs) throw new Error('renewIntervalMs must be well below claimIdleMs');
    this.onError = options.onError ?? (() => {});
  }

  async enqueue(key: string, payload: string, maxPendingPerKey: number): Promise<EnqueueResult> {
    const p = this.partitionOf(key);
    const [accepted, pending] = await ENQUEUE.run(this.client, [this.turnsKey(p), this.laneKey(p, key)], [key, payload, maxPendingPerKey]) as [number, number];
    return { accepted: Number(accepted) === 1, pending: Number(pending) };
  }

  consume(consumerName: string, handler: (entry: QueueEntry) => Promise<void>, options: ConsumeOptions = {}): QueueConsumer {
    return new StreamConsumer(this, consumerName, handler, options);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const all: Array<{ order: [number, number]; letter: DeadLetter }> = [];
    for (let p = 0; p < this.settings.partitions; p++) {
      const entries = await this.client.call('XREVRANGE', this.deadKey(p), '+', '-', 'COUNT', Math.max(1, limit)) as Array<[string, string[]]>;
      for (const [id, fields] of entries) {
        const [ms, seq] = id.split('-').map(Number) as [number, number];
        all.push({
          order: [ms, seq],
          letter: { correlationId: `dl-${p}-${id}`, key: fieldOf(fields, 'k'), payload: fieldOf(fields, 'p'), attempts: Number(fieldOf(fields, 'a')), reason: fieldOf(fields, 'r') },
        });
      }
    }
    all.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1]);
    return all.slice(Math.max(0, all.length - limit)).map((x) => x.letter);
  }

  /** Creates the consumer group of every partition (from the stream's start), once. */
  ensureGroups(force = false): Promise<void> {
    if (force || !this.groupsReady) {
      const attempt = Promise.all(Array.from({ length: this.settings.partitions }, async (_, p) => {
        try {
          await this.client.call('XGROUP', 'CREATE', this.turnsKey(p), this.settings.group, '0', 'MKSTREAM');
        } catch (error) {
          if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
        }
      })).then(() => {});
      this.groupsReady = attempt;
      attempt.catch(() => { if (this.groupsReady === attempt) this.groupsReady = undefined; });
    }
    return this.groupsReady!;
  }

  partitionOf(key: string): number {
    const n = this.settings.partitions;
    if (n === 1) return 0;
    let hash = 0x811c9dc5; // FNV-1a, 32 bits
    for (const byte of Buffer.from(key, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    return hash % n;
  }

  turnsKey(partition: number): string {
    return `${this.keyPrefix}{${partition}}:turns`;
  }

  laneKey(partition: number, key: string): string {
    return `${this.keyPrefix}{${partition}}:lane:${key}`;
  }

  attemptsKey(partition: number): string {
    return `${this.keyPrefix}{${partition}}:attempts`;
  }

  deadKey(partition: number): string {
    return `${this.keyPrefix}{${partition}}:dead`;
  }
}
