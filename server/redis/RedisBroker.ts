import type { Redis } from 'ioredis';
import type { Closable } from '../ports/Closable.ts';
import type { Broker, Subscription } from '../ports/Broker.ts';
import { DEFAULT_REDIS_PREFIX } from './RedisScript.ts';

export interface RedisBrokerOptions {
  /**
   * Connection used to PUBLISH. Owned by the caller (may be shared with other adapters);
   * `close()` leaves it open. The subscriber connection is made from it with `duplicate()`.
   */
  client: Redis;
  /**
   * Namespace of this cluster's channels (default `chatsim:`): channel `c` is the Redis
   * channel `<prefix>broker:<c>`. Pub/Sub ignores the database number, so clusters (and test
   * runs) that share a Redis server must use distinct prefixes.
   */
  prefix?: string;
  /**
   * Called when a handler throws. Default: rethrown on a microtask (an uncaught exception, as
   * with the in-memory broker), so a faulty handler is loud but cannot break the connection's
   * reply parsing or the other handlers.
   */
  onHandlerError?: (error: unknown, channel: string) => void;
}

/**
 * Broker on Redis Pub/Sub. Each gateway subscribes to one channel of its own; the chat server
 * PUBLISHes one payload per gateway.
 *
 * Connections: the caller's `client` publishes. The first `subscribe` opens one subscriber
 * connection per RedisBroker (ioredis subscriber mode needs a connection of its own), shared
 * by all its subscriptions: channels are SUBSCRIBEd while they have at least one handler and
 * UNSUBSCRIBEd when the last one leaves. `publish` returns what PUBLISH returns, which counts
 * subscribed *connections*: two handlers of one channel on one RedisBroker count once. (A
 * gateway process has one broker and one channel, so the count is the number of gateways.)
 *
 * Delivery: handlers run when the subscriber connection reads the message from its socket,
 * never inside `publish`. Redis delivers in PUBLISH order per publishing connection, so order
 * per publisher and channel holds. At most once: nothing is kept for a channel without
 * subscribers, and payloads published while the subscriber connection reconnects are lost
 * (ioredis resubscribes on reconnect).
 */
export class RedisBroker implements Broker, Closable {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly onHandlerError: (error: unknown, channel: string) => void;
  private subscriber: Redis | undefined;
  /** Channel (without prefix) -> its handlers. */
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  /** Channels SUBSCRIBEd on the subscriber connection. */
  private readonly subscribed = new Set<string>();
  /** SUBSCRIBE/UNSUBSCRIBE run one at a time, so a channel's state follows its handlers. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: RedisBrokerOptions) {
    this.client = options.client;
    this.prefix = `${options.prefix ?? DEFAULT_REDIS_PREFIX}broker:`;
    this.onHandlerError = options.onHandlerError ?? ((error) => queueMicrotask(() => { throw error; }));
  }

  async publish(channel: string, payload: string): Promise<number> {
    return Number(await this.client.call('PUBLISH', this.prefix + channel, payload));
  }

  async subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    if (this.closed) throw new Error('RedisBroker is closed');
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    // Wrap so one handler function subscribed twice counts as two subscriptions.
    const wrapped = (payload: string): void => handler(payload);
    set.add(wrapped);
    const leave = async (): Promise<void> => {
      const current = this.handlers.get(channel);
      if (!current?.delete(wrapped)) return;
      if (current.size === 0) this.handlers.delete(channel);
      await this.reconcile(channel);
    };
    try {
      await this.reconcile(channel);
    } catch (error) {
      await leave().catch(() => {});
      throw error;
    }
    return { unsubscribe: leave };
  }

  /** Closes the subscriber connection (not the caller's `client`). Subscriptions end. */
  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscribed.clear();
    await this.chain;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  private subscriberConnection(): Redis {
    if (!this.subscriber) {
      const subscriber = this.client.duplicate();
      subscriber.on('message', (fullChannel: string, payload: string) => this.dispatch(fullChannel, payload));
      // Connection errors are retried by ioredis; without a listener they would be thrown.
      subscriber.on('error', () => {});
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  private dispatch(fullChannel: string, payload: string): void {
    if (!fullChannel.startsWith(this.prefix)) return;
    const channel = fullChannel.slice(this.prefix.length);
    const set = this.handlers.get(channel);
    if (!set) return;
    for (const handler of [...set]) {
      // A handler unsubscribed by an earlier handler of this same message gets nothing.
      if (!set.has(handler)) continue;
      try {
        handler(payload);
      } catch (error) {
        this.onHandlerError(error, channel);
      }
    }
  }

  /** Makes the channel's subscription on Redis match whether it has handlers. */
  private reconcile(channel: string): Promise<void> {
    const step = async (): Promise<void> => {
      if (this.closed) return;
      const wanted = (this.handlers.get(channel)?.size ?? 0) > 0;
      const has = this.subscribed.has(channel);
      if (wanted && !has) {
        await this.subscriberConnection().subscribe(this.prefix + channel);
        this.subscribed.add(channel);
      } else if (!wanted && has) {
        await this.subscriberConnection().unsubscribe(this.prefix + channel);
        this.subscribed.delete(channel);
      }
    };
    const run = this.chain.then(step);
    this.chain = run.catch(() => {});
    return run;
  }
}
