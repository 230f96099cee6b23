import type { ClusterBackends } from '../../../server/Cluster.ts';
import type { Broker, Subscription } from '../../../server/ports/Broker.ts';
import type { Timers } from '../../../server/ports/Clock.ts';
import type { ChatRecord, Directory, FriendRequestOutcome, NewChat, UserRecord } from '../../../server/ports/Directory.ts';
import type { ConsumeOptions, DeadLetter, EnqueueResult, InboundQueue, QueueConsumer, QueueEntry } from '../../../server/ports/InboundQueue.ts';
import type {
  AppendInput, AppendResult, ChatPage, CursorAdvance, CursorKind, InboxEvent, InboxMark, InboxPage, MessageStore, StoredMessage, TickState, UserCursors,
} from '../../../server/ports/MessageStore.ts';
import type { PresenceEntry, PresenceStore, UserPresence } from '../../../server/ports/PresenceStore.ts';
import type { Random } from '../../../server/ports/Random.ts';

/** A latency range in whole ms, both ends inclusive. */
export interface LatencyRangeMs {
  min: number;
  max: number;
}

/** One range per port of the cluster's backends. */
export interface PortLatencies {
  store: LatencyRangeMs;
  broker: LatencyRangeMs;
  queue: LatencyRangeMs;
  presence: LatencyRangeMs;
  directory: LatencyRangeMs;
}

const settledNow: Promise<void> = Promise.resolve();

/**
 * Delays of one port: each call takes a round trip drawn uniformly from the range, in whole ms
 * on the injected timers (the virtual clock in the simulation). The request leg (half the
 * draw, rounded down) passes before the operation runs on the port behind, the response leg
 * (the rest) before the caller hears back, so a write may be applied before its caller knows,
 * as with a real backend.
 *
 * Calls given the same lane are FIFO: a call's operation runs only after the previous call of
 * its lane has run (and settled), and it completes only after that one completed, so a later
 * call never overtakes an earlier one of the same lane. Calls without a lane are independent.
 */
export class PortLatency {
  private readonly lanes = new Map<string, { ran: Promise<void>; completed: Promise<void>; calls: number }>();
  private readonly deliveryTails = new Map<string, Promise<void>>();

  constructor(private readonly timers: Timers, private readonly random: Random, readonly range: LatencyRangeMs) {
    if (!(Number.isInteger(range.min) && Number.isInteger(range.max) && range.min >= 0 && range.max >= range.min)) {
      throw new Error(`a latency range is whole ms with 0 <= min <= max, got ${range.min}..${range.max}`);
    }
  }

  /** One draw from the range, in whole ms. */
  drawMs(): number {
    const span = this.range.max - this.range.min;
    return this.range.min + (span > 0 ? this.random.nextInt(span + 1) : 0);
  }

  /** Runs `op` on the port behind after the request leg; resolves (or rejects) after the response leg. */
  async call<T>(lane: string | undefined, op: () => Promise<T>): Promise<T> {
    const totalMs = this.drawMs();
    const requestMs = Math.floor(totalMs / 2);
    const responseMs = totalMs - requestMs;
    if (lane === undefined) {
      await this.sleep(requestMs);
      const outcome = await settle(op);
      await this.sleep(responseMs);
      return unwrap(outcome);
    }
    let state = this.lanes.get(lane);
    if (!state) {
      state = { ran: settledNow, completed: settledNow, calls: 0 };
      this.lanes.set(lane, state);
    }
    const previousRan = state.ran;
    const previousCompleted = state.completed;
    const ran = signal();
    const completed = signal();
    state.ran = ran.promise;
    state.completed = completed.promise;
    state.calls++;
    try {
      await this.sleep(requestMs);
      await previousRan;
      const outcome = await settle(op);
      ran.fire();
      await this.sleep(responseMs);
      await previousCompleted;
      return unwrap(outcome);
    } finally {
      ran.fire();
      completed.fire();
      if (--state.calls === 0 && this.lanes.get(lane) === state) this.lanes.delete(lane);
    }
  }

  /**
   * Calls `fn` after a one-way delay drawn from the range (a broker pushing to a subscriber),
   * FIFO per lane: never before the previous delivery of its lane.
   */
  deliver(lane: string, fn: () => void): void {
    const previous = this.deliveryTails.get(lane) ?? settledNow;
    const delivered = Promise.all([this.sleep(this.drawMs()), previous]).then(fn);
    const tail = delivered.then(() => undefined, () => undefined);
    this.deliveryTails.set(lane, tail);
    void tail.then(() => { if (this.deliveryTails.get(lane) === tail) this.deliveryTails.delete(lane); });
    // A handler that throws surfaces as an unhandled rejection, as it would from the broker itself.
    void delivered;
  }

  /** Lanes with calls or deliveries under way (0 when idle; for tests). */
  activeLanes(): number {
    return this.lanes.size + this.deliveryTails.size;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return settledNow;
    return new Promise((resolve) => { this.timers.schedule(ms, resolve); });
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function settle<T>(op: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await op() };
  } catch (error) {
    return { ok: false, error };
  }
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

function signal(): { promise: Promise<void>; fire(): void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => { fire = resolve; });
  return { promise, fire };
}

/**
 * Publish is FIFO per channel (the contract orders payloads per publisher and channel), and
 * each payload reaches each subscriber after its own one-way delay, FIFO per subscription.
 * A subscription stops receiving once its unsubscribe resolved, even payloads still in flight
 * toward it (at most once allows the loss).
 */
export class LatentBroker implements Broker {
  private subscriptions = 0;

  constructor(private readonly inner: Broker, private readonly latency: PortLatency) {}

  publish(channel: string, payload: string): Promise<number> {
    return this.latency.call(`publish\u0000${channel}`, () => this.inner.publish(channel, payload));
  }

  async subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    const lane = `delivery\u0000${++this.subscriptions}`;
    let open = true;
    const subscription = await this.latency.call(`subscribe\u0000${channel}`, () => this.inner.subscribe(channel, (payload) => {
      this.latency.deliver(lane, () => { if (open) handler(payload); });
    }));
    return {
      unsubscribe: async () => {
        await this.latency.call(`subscribe\u0000${channel}`, () => subscription.unsubscribe());
        open = false;
      },
    };
  }
}

/** Enqueue is FIFO per key (the contract's order per key); consume passes through untouched. */
export class LatentInboundQueue implements InboundQueue {
  constructor(private readonly inner: InboundQueue, private readonly latency: PortLatency) {}

  enqueue(key: string, payload: string, maxPendingPerKey: number): Promise<EnqueueResult> {
    return this.latency.call(key, () => this.inner.enqueue(key, payload, maxPendingPerKey));
  }

  consume(consumerName: string, handler: (entry: QueueEntry) => Promise<void>, options?: ConsumeOptions): QueueConsumer {
    return this.inner.consume(consumerName, handler, options);
  }

  deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.inner.deadLetters(limit);
  }
}

/**
 * Writes of one entry (put, refresh, remove of a user's connection) are FIFO, so a remove
 * never lands before the put it follows; reads and sweeps are independent.
 */
export class LatentPresenceStore implements PresenceStore {
  constructor(private readonly inner: PresenceStore, private readonly latency: PortLatency) {}

  put(entry: PresenceEntry, ttlMs: number): Promise<void> {
    return this.latency.call(entryLane(entry.userId, entry.connectionId), () => this.inner.put(entry, ttlMs));
  }

  refresh(userId: string, connectionId: string, ttlMs: number): Promise<boolean> {
    return this.latency.call(entryLane(userId, connectionId), () => this.inner.refresh(userId, connectionId, ttlMs));
  }

  remove(userId: string, connectionId: string): Promise<boolean> {
    return this.latency.call(entryLane(userId, connectionId), () => this.inner.remove(userId, connectionId));
  }

  getMany(userIds: readonly string[]): Promise<Map<string, UserPresence>> {
    return this.latency.call(undefined, () => this.inner.getMany(userIds));
  }

  sweepExpired(): Promise<PresenceEntry[]> {
    return this.latency.call(undefined, () => this.inner.sweepExpired());
  }

  sweepChanged(maxUsers: number): Promise<string[]> {
    return this.latency.call(undefined, () => this.inner.sweepChanged(maxUsers));
  }

  /** Passes through without a latency (draws nothing), so adding the read moved no seed's history. */
  epoch(): Promise<string> {
    return this.inner.epoch();
  }
}

function entryLane(userId: string, connectionId: string): string {
  return `${userId}\u0000${connectionId}`;
}

/** Every call independent (the contract orders nothing between calls in flight); `epoch` passes through. */
export class LatentMessageStore implements MessageStore {
  constructor(private readonly inner: MessageStore, private readonly latency: PortLatency) {}

  get epoch(): string {
    return this.inner.epoch;
  }

  append(input: AppendInput): Promise<AppendResult> {
    return this.latency.call(undefined, () => this.inner.append(input));
  }

  findSend(chatId: string, senderId: string, clientMsgId: string): Promise<StoredMessage | undefined> {
    return this.latency.call(undefined, () => this.inner.findSend(chatId, senderId, clientMsgId));
  }

  readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    return this.latency.call(undefined, () => this.inner.readChat(chatId, afterSeq, limit));
  }

  headSeq(chatId: string): Promise<number> {
    return this.latency.call(undefined, () => this.inner.headSeq(chatId));
  }

  reaches(chatId: string, seq: number): Promise<boolean> {
    return this.latency.call(undefined, () => this.inner.reaches(chatId, seq));
  }

  advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance> {
    return this.latency.call(undefined, () => this.inner.advanceCursor(chatId, userId, kind, upTo));
  }

  getCursors(chatId: string): Promise<Map<string, UserCursors>> {
    return this.latency.call(undefined, () => this.inner.getCursors(chatId));
  }

  tickState(chatId: string): Promise<TickState> {
    return this.latency.call(undefined, () => this.inner.tickState(chatId));
  }

  raiseAnnounced(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<void> {
    return this.latency.call(undefined, () => this.inner.raiseAnnounced(chatId, userId, kind, upTo));
  }

  appendInbox(userId: string, eventKey: string, event: InboxEvent): Promise<number> {
    return this.latency.call(undefined, () => this.inner.appendInbox(userId, eventKey, event));
  }

  readInbox(userId: string, afterPosition: number, limit: number): Promise<InboxPage> {
    return this.latency.call(undefined, () => this.inner.readInbox(userId, afterPosition, limit));
  }

  getInboxMarks(userId: string): Promise<Map<string, InboxMark>> {
    return this.latency.call(undefined, () => this.inner.getInboxMarks(userId));
  }

  raiseInboxMark(userId: string, chatId: string, mark: InboxMark): Promise<void> {
    return this.latency.call(undefined, () => this.inner.raiseInboxMark(userId, chatId, mark));
  }
}

/** Every call independent: reads reflect the writes that resolved before them, as the contract asks. */
export class LatentDirectory implements Directory {
  constructor(private readonly inner: Directory, private readonly latency: PortLatency) {}

  createUser(user: UserRecord): Promise<{ ok: true } | { ok: false; reason: 'exists' }> {
    return this.latency.call(undefined, () => this.inner.createUser(user));
  }

  getUser(userId: string): Promise<UserRecord | undefined> {
    return this.latency.call(undefined, () => this.inner.getUser(userId));
  }

  updateProfile(userId: string, profile: { name: string }): Promise<boolean> {
    return this.latency.call(undefined, () => this.inner.updateProfile(userId, profile));
  }

  createChat(chat: NewChat): Promise<ChatRecord> {
    return this.latency.call(undefined, () => this.inner.createChat(chat));
  }

  getChat(chatId: string): Promise<ChatRecord | undefined> {
    return this.latency.call(undefined, () => this.inner.getChat(chatId));
  }

  renameChat(chatId: string, name: string): Promise<boolean> {
    return this.latency.call(undefined, () => this.inner.renameChat(chatId, name));
  }

  addMember(chatId: string, userId: string, joinedAtSeq: number): Promise<boolean> {
    return this.latency.call(undefined, () => this.inner.addMember(chatId, userId, joinedAtSeq));
  }

  removeMember(chatId: string, userId: string): Promise<boolean> {
    return this.latency.call(undefined, () => this.inner.removeMember(chatId, userId));
  }

  chatsOf(userId: string): Promise<string[]> {
    return this.latency.call(undefined, () => this.inner.chatsOf(userId));
  }

  addFriends(a: string, b: string): Promise<void> {
    return this.latency.call(undefined, () => this.inner.addFriends(a, b));
  }

  friendsOf(userId: string): Promise<string[]> {
    return this.latency.call(undefined, () => this.inner.friendsOf(userId));
  }

  requestFriendship(from: string, to: string): Promise<FriendRequestOutcome> {
    return this.latency.call(undefined, () => this.inner.requestFriendship(from, to));
  }

  acceptFriendship(userId: string, from: string): Promise<boolean> {
    return this.latency.call(undefined, () => this.inner.acceptFriendship(userId, from));
  }

  removeFriendRequest(a: string, b: string): Promise<boolean> {
    return this.latency.call(undefined, () => this.inner.removeFriendRequest(a, b));
  }

  friendRequestsOf(userId: string): Promise<{ incoming: string[]; outgoing: string[] }> {
    return this.latency.call(undefined, () => this.inner.friendRequestsOf(userId));
  }
}

/**
 * The simulation's backends: each port of `backends` behind its latency, on `timers`, each
 * port drawing from its own stream forked from `random` (`latency:store`, ...), so changing
 * one port's range leaves the others' draws alone.
 */
export function withLatency(backends: ClusterBackends, timers: Timers, random: Random, latencies: PortLatencies): ClusterBackends {
  const port = (name: keyof PortLatencies): PortLatency => new PortLatency(timers, random.fork(`latency:${name}`), latencies[name]);
  return {
    store: new LatentMessageStore(backends.store, port('store')),
    broker: new LatentBroker(backends.broker, port('broker')),
    queue: new LatentInboundQueue(backends.queue, port('queue')),
    presence: new LatentPresenceStore(backends.presence, port('presence')),
    directory: new LatentDirectory(backends.directory, port('directory')),
  };
}
