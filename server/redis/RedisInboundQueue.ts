import type { Redis } from 'ioredis';
import type { TimeSource, TimerHandle } from '../ports/Clock.ts';
import {
  INBOUND_QUEUE_RETRY_DEFAULTS, failureReason, retryDelayMs,
  type ConsumeOptions, type DeadLetter, type EnqueueResult, type InboundQueue, type QueueConsumer, type QueueEntry,
} from '../ports/InboundQueue.ts';
import { DEFAULT_REDIS_PREFIX, RedisScript } from './RedisScript.ts';

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

export const INBOUND_QUEUE_DEFAULTS = {
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

// Shared Lua: is the turn (stream entry ARGV[2]) pending for this consumer (ARGV[3]) in group ARGV[4]?
const OWNS = `
local function owns(turns, id, consumer, group)
  return #redis.call('XPENDING', turns, group, id, id, 1, consumer) > 0
end
`;

// KEYS: turns, lane. ARGV: key, payload, maxPendingPerKey. A lane going from empty to one
// entry gets a turn; otherwise its turn already exists (queued or held by a consumer).
const ENQUEUE = new RedisScript('queue-enqueue', `
local n = redis.call('LLEN', KEYS[2])
if n >= tonumber(ARGV[3]) then return { 0, n } end
redis.call('RPUSH', KEYS[2], ARGV[2])
if n == 0 then redis.call('XADD', KEYS[1], '*', 'k', ARGV[1]) end
return { 1, n + 1 }
`);

// KEYS: turns, lane, attempts. ARGV: key, turn id, consumer, group.
// Hands out the lane's head: { payload, redeliveries }, or nil when the turn is not ours.
const BEGIN = new RedisScript('queue-begin', `${OWNS}
if not owns(KEYS[1], ARGV[2], ARGV[3], ARGV[4]) then return false end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  redis.call('XACK', KEYS[1], ARGV[4], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return false
end
local attempts = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
return { head, attempts - 1 }
`);

// KEYS: turns, lane, attempts. ARGV: key, turn id, consumer, group, continue (1|0).
// Acknowledges the lane's head. Replies {0} (not our turn any more: nothing acknowledged),
// {1} (turn ended: lane empty, or handed to the end of the turn stream), or
// {2, payload, redeliveries} (the turn goes on here with the next entry).
const ACK = new RedisScript('queue-ack', `${OWNS}
if not owns(KEYS[1], ARGV[2], ARGV[3], ARGV[4]) then return { 0 } end
redis.call('LPOP', KEYS[2])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('LLEN', KEYS[2]) > 0 and ARGV[5] == '1' then
  redis.call('XCLAIM', KEYS[1], ARGV[4], ARGV[3], 0, ARGV[2], 'JUSTID')
  local attempts = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
  return { 2, redis.call('LINDEX', KEYS[2], 0), attempts - 1 }
end
redis.call('XACK', KEYS[1], ARGV[4], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('LLEN', KEYS[2]) > 0 then redis.call('XADD', KEYS[1], '*', 'k', ARGV[1]) end
return { 1 }
`);

// KEYS: turns, attempts. ARGV: key, turn id, consumer, group, undo (1|0).
// Hands the turn back to the end of the turn stream without acknowledging the head (after a
// handler failed, or when a stopping consumer got a turn it will not process). `undo` takes
// back the hand-out BEGIN/ACK counted for a head that never reached a handler.
const RELEASE = new RedisScript('queue-release', `${OWNS}
if not owns(KEYS[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
if ARGV[5] == '1' and redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
redis.call('XACK', KEYS[1], ARGV[4], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[1], '*', 'k', ARGV[1])
return 1
`);

// KEYS: turns. ARGV: consumer, group, turn ids... Resets the idle time of the turns still
// ours (XCLAIM JUSTID does not count a delivery) and replies with their ids.
const RENEW = new RedisScript('queue-renew', `${OWNS}
local kept = {}
for i = 3, #ARGV do
  if owns(KEYS[1], ARGV[i], ARGV[1], ARGV[2]) then
    redis.call('XCLAIM', KEYS[1], ARGV[2], ARGV[1], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
`);

// KEYS: turns, lane, attempts, dead. ARGV: key, turn id, consumer, group, attempts, reason, deadLettersMax.
// Moves the lane's head to the dead stream (trimmed to deadLettersMax) and ends the turn as
// ACK does, handing a new turn to the end of the turn stream if the lane has more. Replies
// with the dead stream entry's id, or nil when the turn is not ours (nothing changed).
const DEAD_LETTER = new RedisScript('queue-dead-letter', `${OWNS}
if not owns(KEYS[1], ARGV[2], ARGV[3], ARGV[4]) then return false end
local head = redis.call('LPOP', KEYS[2])
if not head then return false end
redis.call('HDEL', KEYS[3], ARGV[1])
local id = redis.call('XADD', KEYS[4], 'MAXLEN', ARGV[7], '*', 'k', ARGV[1], 'p', head, 'a', ARGV[5], 'r', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[4], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('LLEN', KEYS[2]) > 0 then redis.call('XADD', KEYS[1], '*', 'k', ARGV[1]) end
return id
`);

// KEYS: turns. ARGV: group, consumer. Deletes the consumer from the group if it holds nothing.
const FORGET_CONSUMER = new RedisScript('queue-forget-consumer', `
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
`);

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

interface Turn {
  id: string;
  partition: number;
  key: string;
  /** Another consumer holds it now (renewal found it gone): acknowledge nothing. */
  lost: boolean;
  /** Resolves a back-off early (stop). */
  cutBackoff?: () => void;
}

type ConsumerState = 'running' | 'stopping' | 'stopped' | 'dead';

/** One consumer: a blocking read loop on its own connection, plus renewal and claim timers. */
class StreamConsumer implements QueueConsumer {
  private state: ConsumerState = 'running';
  /** Turns held, by `<partition>/<id>` (stream ids repeat across partitions). */
  private readonly turns = new Map<string, Turn>();
  private readonly running = new Set<Promise<void>>();
  private readonly reader: Redis;
  private readerId: number | undefined;
  private reading = false;
  private wakeLoop: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private readonly renewTimer: TimerHandle;
  private readonly claimTimer: TimerHandle;
  private claiming = false;
  private nextPartition = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly queue: RedisInboundQueue,
    private readonly name: string,
    private readonly handler: (entry: QueueEntry) => Promise<void>,
    private readonly options: ConsumeOptions,
  ) {
    this.reader = queue.client.duplicate();
    this.reader.on('error', () => {});
    this.renewTimer = queue.time.every(queue.settings.renewIntervalMs, () => { void this.renew(); });
    this.claimTimer = queue.time.every(queue.settings.claimIntervalMs, () => { void this.claim(); });
    this.loop = this.readLoop();
  }

  stop(options?: { abandonInFlight?: boolean }): Promise<void> {
    if (options?.abandonInFlight) {
      if (this.state === 'dead' || this.state === 'stopped') return Promise.resolve();
      // A crash: nothing more is done on this consumer's behalf; its turns stay in its
      // pending list until another consumer claims them after claimIdleMs.
      this.state = 'dead';
      this.renewTimer.cancel();
      this.claimTimer.cancel();
      for (const turn of this.turns.values()) turn.cutBackoff?.();
      this.reader.disconnect();
      this.wake();
      return Promise.resolve();
    }
    this.stopping ??= this.stopGracefully();
    return this.stopping;
  }

  private async stopGracefully(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.claimTimer.cancel();
    this.wake();
    await this.interruptRead();
    await this.loop;
    for (const turn of this.turns.values()) turn.cutBackoff?.();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    this.renewTimer.cancel();
    if (this.state !== 'stopping') return; // crashed meanwhile
    await Promise.all(Array.from({ length: this.queue.settings.partitions }, (_, p) =>
      FORGET_CONSUMER.run(this.queue.client, [this.queue.turnsKey(p)], [this.queue.settings.group, this.name])
        .catch((error: unknown) => this.queue.onError(error))));
    this.state = 'stopped';
    await this.reader.quit().catch(() => this.reader.disconnect());
  }

  /** Ends a blocking XREADGROUP under way (CLIENT UNBLOCK), retrying while it has not reached the server. */
  private async interruptRead(): Promise<void> {
    let done = false;
    void this.loop.then(() => { done = true; });
    while (!done && this.state === 'stopping') {
      if (this.reading && this.readerId !== undefined) {
        await this.queue.client.call('CLIENT', 'UNBLOCK', this.readerId).catch(() => {});
      }
      await Promise.race([this.loop, this.delay(5)]);
    }
  }

  private async readLoop(): Promise<void> {
    const { settings } = this.queue;
    while (this.state === 'running') {
      const free = settings.maxInFlight - this.turns.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => { this.wakeLoop = resolve; });
        continue;
      }
      try {
        await this.queue.ensureGroups();
        this.readerId ??= Number(await this.reader.call('CLIENT', 'ID'));
        if (this.state !== 'running') break;
        const partitions = this.pickPartitions(free);
        const count = Math.max(1, Math.floor(free / partitions.length));
        this.reading = true;
        let reply: unknown;
        try {
          reply = await this.reader.call('XREADGROUP', 'GROUP', settings.group, this.name, 'COUNT', count,
            'BLOCK', settings.blockMs, 'STREAMS', ...partitions.map((p) => this.queue.turnsKey(p)), ...partitions.map(() => '>'));
        } finally {
          this.reading = false;
        }
        for (const [stream, entries] of streamReadReply(reply)) {
          const partition = partitions.find((p) => this.queue.turnsKey(p) === stream)!;
          for (const [id, fields] of entries) this.takeTurn(partition, id, fieldOf(fields, 'k'));
        }
      } catch (error) {
        if (this.state !== 'running') break;
        this.queue.onError(error);
        if (error instanceof Error && error.message.startsWith('NOGROUP')) this.queue.ensureGroups(true).catch(() => {});
        await this.delay(settings.errorBackoffMs);
      }
    }
  }

  /** Which turn streams to read: all of them, or `free` of them in rotation so COUNT never exceeds what is free. */
  private pickPartitions(free: number): number[] {
    const n = this.queue.settings.partitions;
    if (free >= n) return Array.from({ length: n }, (_, p) => p);
    const picked: number[] = [];
    for (let i = 0; i < free; i++) picked.push((this.nextPartition + i) % n);
    this.nextPartition = (this.nextPartition + free) % n;
    return picked;
  }

  private takeTurn(partition: number, id: string, key: string): void {
    const slot = `${partition}/${id}`;
    if (this.turns.has(slot)) return; // our own turn, claimed back after a stalled renewal: already running
    if (this.state === 'dead') return; // stays pending; someone claims it later
    if (this.state !== 'running') {
      // Stopping gracefully: hand it back untouched (BEGIN never counted a hand-out for it).
      void this.release({ id, partition, key, lost: false }, false);
      return;
    }
    const turn: Turn = { id, partition, key, lost: false };
    this.turns.set(slot, turn);
    const run = this.runTurn(turn).catch((error: unknown) => {
      // A Redis error: forget the turn locally; unrenewed, it is claimed again after claimIdleMs.
      this.queue.onError(error);
    }).finally(() => {
      this.turns.delete(slot);
      this.running.delete(run);
      this.wake();
    });
    this.running.add(run);
  }

  private async runTurn(turn: Turn): Promise<void> {
    const { queue } = this;
    const keys = [queue.turnsKey(turn.partition), queue.laneKey(turn.partition, turn.key), queue.attemptsKey(turn.partition)];
    const ids = [turn.key, turn.id, this.name, queue.settings.group];
    const begun = await BEGIN.run(queue.client, keys, ids) as [string, number] | null;
    if (!begun || this.is('dead')) return;
    let entry: QueueEntry = { key: turn.key, payload: begun[0], redeliveries: Number(begun[1]) };
    let processed = 0;
    for (;;) {
      if (!this.is('running')) {
        // Got the entry after a stop began: hand it back unprocessed (a crash leaves it pending).
        if (this.is('stopping')) await this.release(turn, true);
        return;
      }
      if (entry.redeliveries >= queue.settings.poisonAttemptsMax) {
        // Every earlier hand-out ended with its consumer dying: give up before a handler sees it again.
        await this.deadLetter(turn, entry, entry.redeliveries, `handed out ${entry.redeliveries} times without an acknowledgement`);
        return;
      }
      let failure: { error: unknown } | undefined;
      try {
        await this.handler({ ...entry });
      } catch (error) {
        failure = { error };
      }
      if (this.is('dead') || turn.lost) return;
      if (failure) {
        if (entry.redeliveries + 1 >= queue.settings.poisonAttemptsMax) {
          await this.deadLetter(turn, entry, entry.redeliveries + 1, failureReason(failure.error));
          return;
        }
        // Hold the turn (the key's later entries wait), then hand it back to any consumer.
        const { retryBaseDelayMs, retryMaxDelayMs } = queue.settings;
        await this.backoff(turn, retryDelayMs(entry.redeliveries, retryBaseDelayMs, retryMaxDelayMs));
        if (this.is('dead') || turn.lost) return;
        await this.release(turn, false);
        return;
      }
      processed++;
      const goOn = this.is('running') && processed < queue.settings.maxEntriesPerTurn ? '1' : '0';
      const reply = await ACK.run(queue.client, keys, [...ids, goOn]) as [number, string?, number?];
      if (Number(reply[0]) !== 2 || this.is('dead')) return;
      entry = { key: turn.key, payload: reply[1]!, redeliveries: Number(reply[2]) };
    }
  }

  /** Moves the turn's head to the dead stream, ends the turn, and tells the hook. */
  private async deadLetter(turn: Turn, entry: QueueEntry, attempts: number, reason: string): Promise<void> {
    const { queue } = this;
    const keys = [queue.turnsKey(turn.partition), queue.laneKey(turn.partition, turn.key), queue.attemptsKey(turn.partition), queue.deadKey(turn.partition)];
    const id = await DEAD_LETTER.run(queue.client, keys,
      [turn.key, turn.id, this.name, queue.settings.group, attempts, reason, queue.settings.deadLettersMax]) as string | null;
    if (!id) return; // not our turn any more: its new holder decides
    const letter: DeadLetter = { correlationId: `dl-${turn.partition}-${id}`, key: entry.key, payload: entry.payload, attempts, reason };
    try {
      await this.options.onDeadLetter?.(letter);
    } catch {
      // The hook's failure changes nothing (contract).
    }
  }

  private async release(turn: Turn, undoHandOut: boolean): Promise<void> {
    const { queue } = this;
    await RELEASE.run(queue.client, [queue.turnsKey(turn.partition), queue.attemptsKey(turn.partition)],
      [turn.key, turn.id, this.name, queue.settings.group, undoHandOut ? '1' : '0'])
      .catch((error: unknown) => queue.onError(error));
  }

  private backoff(turn: Turn, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.queue.time.schedule(ms, () => finish());
      const finish = (): void => {
        timer.cancel();
        turn.cutBackoff = undefined;
        resolve();
      };
      turn.cutBackoff = finish;
    });
  }

  /** Keeps the turns we hold from looking idle; marks those another consumer took as lost. */
  private async renew(): Promise<void> {
    if (this.state === 'dead' || this.state === 'stopped' || this.turns.size === 0) return;
    const byPartition = new Map<number, Turn[]>();
    for (const turn of this.turns.values()) {
      if (turn.lost) continue;
      const list = byPartition.get(turn.partition) ?? [];
      list.push(turn);
      byPartition.set(turn.partition, list);
    }
    await Promise.all([...byPartition].map(async ([partition, turns]) => {
      try {
        const kept = new Set(await RENEW.run(this.queue.client, [this.queue.turnsKey(partition)],
          [this.name, this.queue.settings.group, ...turns.map((t) => t.id)]) as string[]);
        for (const turn of turns) if (!kept.has(turn.id)) turn.lost = true;
      } catch (error) {
        this.queue.onError(error);
      }
    }));
  }

  /** Takes over turns that sat idle for claimIdleMs in any consumer's pending list (a dead consumer's). */
  private async claim(): Promise<void> {
    if (this.state !== 'running' || this.claiming) return;
    this.claiming = true;
    const { settings } = this.queue;
    try {
      await this.queue.ensureGroups();
      for (let p = 0; p < settings.partitions; p++) {
        let cursor = '0-0';
        do {
          const free = settings.maxInFlight - this.turns.size;
          if (free <= 0 || this.state !== 'running') return;
          const reply = await this.queue.client.call('XAUTOCLAIM', this.queue.turnsKey(p), settings.group, this.name,
            settings.claimIdleMs, cursor, 'COUNT', free) as [string, Array<[string, string[]] | null>];
          cursor = reply[0];
          for (const claimed of reply[1]) {
            if (claimed) this.takeTurn(p, claimed[0], fieldOf(claimed[1], 'k'));
          }
        } while (cursor !== '0-0');
      }
    } catch (error) {
      this.queue.onError(error);
    } finally {
      this.claiming = false;
    }
  }

  /** The state now (a method, so checks after an await are not narrowed by earlier ones). */
  private is(state: ConsumerState): boolean {
    return this.state === state;
  }

  private wake(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  private delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => { this.queue.time.schedule(ms, resolve); });
  }
}

/**
 * XREADGROUP's reply as [stream, entries] pairs. Over RESP2 it is an array of such pairs;
 * over RESP3 (ioredis 6's default) it is a map, which `call` hands back flattened as
 * [stream, entries, stream, entries, ...].
 */
function streamReadReply(reply: unknown): Array<[string, Array<[string, string[]]>]> {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (!Array.isArray(reply[0])) {
    const pairs: Array<[string, Array<[string, string[]]>]> = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1] as Array<[string, string[]]>]);
    return pairs;
  }
  return reply as Array<[string, Array<[string, string[]]>]>;
}

function fieldOf(fields: readonly string[], name: string): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
  throw new Error(`turn without field ${name}`);
}
