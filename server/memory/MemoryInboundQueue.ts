import type { EnqueueResult, InboundQueue, QueueConsumer, QueueEntry } from '../ports/InboundQueue.ts';

interface KeyLane {
  waiting: Array<{ payload: string; redeliveries: number }>;
  inFlight: boolean;
}

interface ConsumerState {
  name: string;
  handler: (entry: QueueEntry) => Promise<void>;
  stopped: boolean;
  inFlight: Map<symbol, { key: string; payload: string; redeliveries: number; done: Promise<void> }>;
}

/**
 * In-process queue with per-key FIFO lanes (like SQS FIFO message groups). Dispatch happens
 * on a microtask after each change, round-robin over consumers.
 */
export class MemoryInboundQueue implements InboundQueue {
  private readonly lanes = new Map<string, KeyLane>();
  /** Keys that have waiting entries and no entry in flight, in the order they became ready. */
  private readonly ready: string[] = [];
  private readonly readySet = new Set<string>();
  private readonly consumers: ConsumerState[] = [];
  private nextConsumer = 0;
  private dispatchScheduled = false;

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

  consume(consumerName: string, handler: (entry: QueueEntry) => Promise<void>): QueueConsumer {
    const state: ConsumerState = { name: consumerName, handler, stopped: false, inFlight: new Map() };
    this.consumers.push(state);
    this.scheduleDispatch();
    return { stop: (options) => this.stopConsumer(state, options?.abandonInFlight ?? false) };
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
      let acknowledged: boolean;
      try {
        await consumer.handler({ key, payload, redeliveries });
        acknowledged = true;
      } catch {
        acknowledged = false;
      }
      // An abandoned flight (crash) was already requeued; its late result is ignored.
      if (!consumer.inFlight.delete(token)) return;
      if (acknowledged) this.finish(key);
      else this.requeueFront(key, payload, redeliveries + 1);
    })();
  }

  private finish(key: string): void {
    const lane = this.lanes.get(key)!;
    lane.inFlight = false;
    if (lane.waiting.length === 0) this.lanes.delete(key);
    else this.markReady(key);
  }
}
