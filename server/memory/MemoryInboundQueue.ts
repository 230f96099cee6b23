import type { Timers } from '../ports/Clock.ts';
import {
  INBOUND_QUEUE_RETRY_DEFAULTS, failureReason, retryDelayMs,
  type ConsumeOptions, type DeadLetter, type EnqueueResult, type InboundQueue, type QueueConsumer, type QueueEntry,
} from '../ports/InboundQueue.ts';

export interface MemoryInboundQueueOptions {
  /** Back-off timers (the cluster's TimeSource: real, or the simulation's virtual one). */
  timers: Timers;
  /** See INBOUND_QUEUE_RETRY_DEFAULTS for these four. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  poisonAttemptsMax?: number;
  deadLettersMax?: number;
}

interface KeyLane {
  waiting: Array<{ payload: string; redeliveries: number }>;
  inFlight: boolean;
}

interface ConsumerState {
  name: string;
  handler: (entry: QueueEntry) => Promise<void>;
  onDeadLetter: ConsumeOptions['onDeadLetter'];
  stopped: boolean;
  inFlight: Map<symbol, { key: string; payload: string; redeliveries: number; done: Promise<void> }>;
}

/**
 * In-process queue with per-key FIFO lanes (like SQS FIFO message groups). Dispatch happens
 * on a microtask after each change, round-robin over consumers. A failed entry comes back on
 * a timer (back-off), never on a microtask: a handler that always fails would otherwise keep
 * the microtask queue busy for good, and nothing else (timers, I/O, signals) would ever run.
 */
export class MemoryInboundQueue implements InboundQueue {
  private readonly settings: Required<Omit<MemoryInboundQueueOptions, 'timers'>>;
  private readonly dead: DeadLetter[] = [];
  private deadCount = 0;
  private readonly lanes = new Map<string, KeyLane>();
  /** Keys that have waiting entries and no entry in flight, in the order they became ready. */
  private readonly ready: string[] = [];
  private readonly readySet = new Set<string>();
  private readonly consumers: ConsumerState[] = [];
  private nextConsumer = 0;
  private dispatchScheduled = false;

  constructor(private readonly options: MemoryInboundQueueOptions) {
    this.settings = {
      retryBaseDelayMs: options.retryBaseDelayMs ?? INBOUND_QUEUE_RETRY_DEFAULTS.retryBaseDelayMs,
      retryMaxDelayMs: options.retryMaxDelayMs ?? INBOUND_QUEUE_RETRY_DEFAULTS.retryMaxDelayMs,
      poisonAttemptsMax: Math.max(1, options.poisonAttemptsMax ?? INBOUND_QUEUE_RETRY_DEFAULTS.poisonAttemptsMax),
      deadLettersMax: Math.max(1, options.deadLettersMax ?? INBOUND_QUEUE_RETRY_DEFAULTS.deadLettersMax),
    };
  }

  async enqueue(key: string, payload: string, maxPendingPerKey: number): Promise<EnqueueResult> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { waiting: [], inFlight: false };
      this.lanes.set(key, lane);
    }
    const pending = lane.waiting.length + (lane.inFlight ? 1 : 0);
    if (pending >= maxPendingPerKey) return { accepted: false, pending };
    lane.waiting.push({ payload, redeliveries: 0 });
    this.markReady(key);
    return { accepted: true, pending: pending + 1 };
  }

  consume(consumerName: string, handler: (entry: QueueEntry) => Promise<void>, options: ConsumeOptions = {}): QueueConsumer {
    const state: ConsumerState = { name: consumerName, handler, onDeadLetter: options.onDeadLetter, stopped: false, inFlight: new Map() };
    this.consumers.push(state);
    this.scheduleDispatch();
    return { stop: (options) => this.stopConsumer(state, options?.abandonInFlight ?? false) };
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.dead.slice(Math.max(0, this.dead.length - limit));
  }

  /** Entries not yet acknowledged, over all keys. */
  pendingCount(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.waiting.length + (lane.inFlight ? 1 : 0);
    return n;
  }

  private async stopConsumer(state: ConsumerState, abandonInFlight: boolean): Promise<void> {
    if (state.stopped) return;
    state.stopped = true;
    const index = this.consumers.indexOf(state);
    if (index >= 0) this.consumers.splice(index, 1);
    if (!abandonInFlight) {
      await Promise.allSettled([...state.inFlight.values()].map((f) => f.done));
      return;
    }
    // A crash: whatever was in flight goes back to the front of its lane.
    for (const flight of state.inFlight.values()) this.requeueFront(flight.key, flight.payload, flight.redeliveries + 1);
    state.inFlight.clear();
  }

  private markReady(key: string): void {
    const lane = this.lanes.get(key);
    if (!lane || lane.inFlight || lane.waiting.length === 0 || this.readySet.has(key)) return;
    this.readySet.add(key);
    this.ready.push(key);
    this.scheduleDispatch();
  }

  private requeueFront(key: string, payload: string, redeliveries: number): void {
    const lane = this.lanes.get(key)!;
    lane.inFlight = false;
    lane.waiting.unshift({ payload, redeliveries });
    this.markReady(key);
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.ready.length > 0 && this.consumers.length > 0) {
      const key = this.ready.shift()!;
      this.readySet.delete(key);
      const lane = this.lanes.get(key)!;
      const item = lane.waiting.shift()!;
      lane.inFlight = true;
      const consumer = this.consumers[this.nextConsumer++ % this.consumers.length]!;
      // Handed out poisonAttemptsMax times already, each time to a consumer that died with it.
      if (item.redeliveries >= this.settings.poisonAttemptsMax) {
        this.deadLetter(consumer, key, item.payload, item.redeliveries, `handed out ${item.redeliveries} times without an acknowledgement`);
        continue;
      }
      this.deliver(consumer, key, item.payload, item.redeliveries);
    }
  }

  private deliver(consumer: ConsumerState, key: string, payload: string, redeliveries: number): void {
    const token = Symbol(key);
    // Registered before the handler runs: a handler that throws synchronously must still
    // find its flight, or the entry would be neither acknowledged nor handed out again.
    const flight = { key, payload, redeliveries, done: Promise.resolve() };
    consumer.inFlight.set(token, flight);
    flight.done = (async () => {
      let failure: { error: unknown } | undefined;
      try {
        await consumer.handler({ key, payload, redeliveries });
      } catch (error) {
        failure = { error };
      }
      // An abandoned flight (crash) was already requeued; its late result is ignored.
      if (!consumer.inFlight.delete(token)) return;
      if (!failure) this.finish(key);
      else if (redeliveries + 1 >= this.settings.poisonAttemptsMax) this.deadLetter(consumer, key, payload, redeliveries + 1, failureReason(failure.error));
      else this.retryLater(key, payload, redeliveries + 1);
    })();
  }

  /** The lane stays in flight (its later entries wait) until the back-off ends; then the entry goes back to its front. */
  private retryLater(key: string, payload: string, redeliveries: number): void {
    const delayMs = retryDelayMs(redeliveries - 1, this.settings.retryBaseDelayMs, this.settings.retryMaxDelayMs);
    this.options.timers.schedule(delayMs, () => this.requeueFront(key, payload, redeliveries));
  }

  /** Takes the lane's entry out for good, keeps a record, and tells the consumer. */
  private deadLetter(consumer: ConsumerState, key: string, payload: string, attempts: number, reason: string): void {
    const letter: DeadLetter = { correlationId: `dl-${++this.deadCount}`, key, payload, attempts, reason };
    this.dead.push(letter);
    if (this.dead.length > this.settings.deadLettersMax) this.dead.shift();
    this.finish(key);
    try {
      void Promise.resolve(consumer.onDeadLetter?.({ ...letter })).catch(() => undefined);
    } catch {
      // The hook's failure changes nothing (contract).
    }
  }

  private finish(key: string): void {
    const lane = this.lanes.get(key)!;
    lane.inFlight = false;
    if (lane.waiting.length === 0) this.lanes.delete(key);
    else this.markReady(key);
  }
}
