import type { ConsumeOptions, DeadLetter, EnqueueResult, InboundQueue, QueueConsumer, QueueEntry } from '../ports/InboundQueue.ts';

type Handler = (entry: QueueEntry) => Promise<void>;

/** A consumer the chat server started: its name, handler and options (resume starts it again), and the queue's consumer while it runs. */
interface Consuming {
  name: string;
  handler: Handler;
  options: ConsumeOptions | undefined;
  inner: QueueConsumer | undefined;
}

/**
 * Fault injection for the in-process cluster (`pause-chat-server`): the inbound queue as one
 * chat server sees it, which can freeze that server's consumption as a stopped process (SIGSTOP,
 * a long GC pause) would. The multi-process cluster really stops the process and installs none.
 * The assembly puts it between the queue and a chat server only when the run has the fault, so
 * the chat server itself has no pause state and its hot path no check.
 *
 * - `pause`: the consumer is detached (stopped gracefully, so the entries it holds stay its own),
 *   so other chat servers take every new entry (with none, entries wait in the queue); an entry
 *   still handed to it (a read under way) waits, unprocessed, until `resume`, its key's lane
 *   standing still behind it.
 * - `resume`: the held entries are processed in order and a new consumer takes entries again.
 * - The consumer's `stop` while paused: graceful, the held entries are processed and finished;
 *   a crash (`abandonInFlight`) fails them, so the queue hands them out again.
 *
 * Fidelity: work under way when the pause begins (a frame between two store calls, a tick
 * computation) runs on to its end, where a stopped process would freeze mid-way; and no lease
 * expires meanwhile, so nothing it holds is handed to another server, as a queue with claim
 * timeouts would after a long pause.
 */
export class ChatServerPause implements InboundQueue {
  private consuming: Consuming | undefined;
  /** While paused: the held entries wait on it; a crash rejects it. */
  private gate: { promise: Promise<void>; release(): void; fail(error: Error): void } | undefined;
  /** The graceful stop of the consumer detached by pause; it settles once the held entries are done. */
  private pausedStop: Promise<void> | undefined;

  constructor(private readonly inner: InboundQueue) {}

  get paused(): boolean {
    return this.gate !== undefined;
  }

  /** Freezes consumption (see the class); a no-op when paused already or when nothing consumes. */
  pause(): void {
    const consuming = this.consuming;
    if (this.gate || !consuming?.inner) return;
    let release!: () => void;
    let fail!: (error: Error) => void;
    const promise = new Promise<void>((resolve, reject) => { release = resolve; fail = reject; });
    promise.catch(() => undefined); // rejected only by a crash, seen by the held entries
    this.gate = { promise, release, fail };
    const detached = consuming.inner;
    consuming.inner = undefined;
    this.pausedStop = detached.stop();
  }

  /** Ends a pause: the held entries are processed in order, and the server takes new ones again. */
  resume(): void {
    const gate = this.gate;
    if (!gate) return;
    this.gate = undefined;
    this.pausedStop = undefined;
    gate.release();
    const consuming = this.consuming;
    if (consuming && !consuming.inner) consuming.inner = this.inner.consume(consuming.name, this.held(consuming.handler), consuming.options);
  }

  consume(consumerName: string, handler: Handler, options?: ConsumeOptions): QueueConsumer {
    const consuming: Consuming = { name: consumerName, handler, options, inner: this.inner.consume(consumerName, this.held(handler), options) };
    this.consuming = consuming;
    return { stop: (stopOptions) => this.stop(consuming, stopOptions?.abandonInFlight ?? false) };
  }

  enqueue(key: string, payload: string, maxPendingPerKey: number): Promise<EnqueueResult> {
    return this.inner.enqueue(key, payload, maxPendingPerKey);
  }

  deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.inner.deadLetters(limit);
  }

  /** The handler as the queue calls it: straight through, or held behind the gate while paused. */
  private held(handler: Handler): Handler {
    return (entry) => {
      const gate = this.gate;
      return gate ? gate.promise.then(() => handler(entry)) : handler(entry);
    };
  }

  private async stop(consuming: Consuming, crash: boolean): Promise<void> {
    if (this.consuming === consuming) this.consuming = undefined;
    const gate = this.gate;
    const pausedStop = this.pausedStop;
    this.gate = undefined;
    this.pausedStop = undefined;
    if (gate && crash) gate.fail(new Error(`chat server ${consuming.name} crashed while paused`));
    else gate?.release();
    const running = consuming.inner;
    consuming.inner = undefined;
    await running?.stop({ abandonInFlight: crash });
    if (!crash) await pausedStop;
  }
}
