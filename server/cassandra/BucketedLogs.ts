import type { Client } from 'cassandra-driver';
import { READ, num, type Row } from './lwt.ts';

/** Rows per driver page when reading history or an inbox. */
const FETCH_SIZE = 500;
/** Slot moves one append may make before giving up (each needs another writer to have taken the slot). */
export const MAX_SLOT_MOVES = 1_000;
/** Chats and users whose head this store remembers as the guess for its next append (see knownHeads). */
const HEAD_CACHE_ENTRIES_MAX = 100_000;

/**
 * The machinery CassandraMessageStore's two logs share (a chat's messages by seq, a user's inbox
 * by position, each in partitions of a fixed number of rows, "buckets"): finding a log's head,
 * reading a range across buckets, placing a claimed entry, and queueing appends per key.
 */
export class BucketedLogs {
  private readonly queues = new Map<string, Promise<void>>();
  /**
   * The highest seq (or inbox position) this store saw placed, per chat (or user), as the guess
   * for the next append: it saves the two reads of the head on every append. A head only
   * grows, so the guess is never too high; when another process appended meanwhile, the slot
   * is taken, and the transaction says so and the head is read then. Least recently used first
   * out past HEAD_CACHE_ENTRIES_MAX.
   */
  private readonly knownHeads = new Map<string, number>();

  constructor(private readonly client: Client) {}

  /** The head this store last saw for `key` (a lower bound), if any. */
  knownHead(key: string): number | undefined {
    return this.knownHeads.get(key);
  }

  /** Records a head seen (never lowering what is known) and returns it. */
  rememberHead(key: string, head: number): number {
    remember(this.knownHeads, key, head, HEAD_CACHE_ENTRIES_MAX);
    return head;
  }

  /**
   * Places a claimed entry: tries its slot; while another entry holds the slot, moves the claim
   * to the current head + 1 (CAS from the slot it saw, so concurrent helpers agree) and tries
   * again. Returns the slot that holds the entry.
   */
  async settle(
    claim: { slot: number },
    place: (slot: number) => Promise<'ours' | 'taken'>,
    move: (from: number, to: number) => Promise<number>,
    head: () => Promise<number>,
  ): Promise<number> {
    for (let moves = 0; moves < MAX_SLOT_MOVES; moves++) {
      if (await place(claim.slot) === 'ours') return claim.slot;
      const next = (await head()) + 1;
      claim.slot = await move(claim.slot, Math.max(next, claim.slot + 1));
    }
    throw new Error(`gave up placing an entry after ${MAX_SLOT_MOVES} slot moves`);
  }

  /**
   * The highest seq (position) of a log: probe the bucket of a guess and forward while the
   * bucket is full. The guess is the larger of the head this process last saw, placed or read
   * (knownHeads, never too high: heads only grow), and the caller's `atLeast` (a client's
   * watermark, which may be anything): a non-empty bucket is at or before the head's bucket, so
   * probing forward from it is exact; an empty one (a guess past the head) falls back to the
   * head-bucket hint; a full one continues from the later of the hint and the next bucket. A
   * cold start guesses the first bucket. The hint lags when a writer stopped between its insert and the hint
   * write; probing forward covers that too. Warm, the common case costs one query, not two.
   */
  async headOf(cacheKey: string, key: string, atLeast: number, hintQuery: string, maxQuery: string, bucketSize: number): Promise<number> {
    // Nothing known (a cold process, a watermark of 0) guesses the first bucket: most logs fit
    // in it, so the probe alone answers (empty: the log is; not full: its max), where reading
    // the hint first cost two queries. A log past its first bucket costs one query more than that.
    const guess = Math.max(this.knownHeads.get(cacheKey) ?? 0, atLeast, 1);
    let floorBucket = 0;
    const bucket = bucketOf(guess, bucketSize);
    const max = await this.maxIn(key, bucket, maxQuery);
    if (max === undefined && bucket === 0) return this.rememberHead(cacheKey, 0);
    if (max !== undefined && max < (bucket + 1) * bucketSize) return this.rememberHead(cacheKey, max);
    // Full: the head is in a later bucket, which the hint may name (a guess far behind would
    // otherwise probe one bucket per query). Empty: the guess is past the head; the hint decides.
    if (max !== undefined) floorBucket = bucket + 1;
    const hinted = num((await this.client.execute(hintQuery, [key], READ)).first()?.get('bucket')) ?? 0;
    const start = Math.max(hinted, floorBucket);
    return this.rememberHead(cacheKey, await this.probeForward(key, start, maxQuery, bucketSize) ?? start * bucketSize);
  }

  /** The highest key from `bucket` on, probing forward while buckets are full; undefined when `bucket` itself is empty and is not the first (bucket 0 empty: the log is). */
  private async probeForward(key: string, bucket: number, maxQuery: string, bucketSize: number): Promise<number | undefined> {
    for (let b = bucket; ; b++) {
      const max = await this.maxIn(key, b, maxQuery);
      if (max === undefined) return b === bucket && b > 0 ? undefined : b * bucketSize;
      if (max < (b + 1) * bucketSize) return max;
    }
  }

  private async maxIn(key: string, bucket: number, maxQuery: string): Promise<number | undefined> {
    return num((await this.client.execute(maxQuery, [key, bucket], READ)).first()?.get(0));
  }

  /** Rows with from <= clustering key <= to of a bucketed log, in order, paging through each bucket. */
  async readRange(query: string, key: string, from: number, to: number, bucketSize: number): Promise<Row[]> {
    const rows: Row[] = [];
    if (to < from) return rows;
    for (let b = bucketOf(from, bucketSize); b <= bucketOf(to, bucketSize); b++) {
      rows.push(...await this.readAll(query, [key, b, from, to]));
    }
    return rows;
  }

  /** Every row of a query, following the driver's page state (FETCH_SIZE rows per round trip). */
  async readAll(query: string, params: unknown[]): Promise<Row[]> {
    const rows: Row[] = [];
    let pageState: string | undefined;
    do {
      const result = await this.client.execute(query, params, { ...READ, fetchSize: FETCH_SIZE, ...(pageState ? { pageState } : {}) });
      rows.push(...result.rows);
      pageState = result.pageState ?? undefined;
    } while (pageState);
    return rows;
  }

  /** Runs `fn` after every earlier call queued under `key` has settled. */
  serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.then(() => undefined, () => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }
}

/** Sets map[key] to the max of its value and `value`, as the most recently used entry; the least recently used goes past `entriesMax`. */
export function remember(map: Map<string, number>, key: string, value: number, entriesMax: number): void {
  const known = map.get(key) ?? 0;
  map.delete(key);
  map.set(key, Math.max(known, value));
  if (map.size > entriesMax) map.delete(map.keys().next().value!);
}

/** Bucket of a seq (or position): seqs 1..size are bucket 0, size+1..2*size bucket 1, ... */
export function bucketOf(seq: number, size: number): number {
  return Math.floor((seq - 1) / size);
}
