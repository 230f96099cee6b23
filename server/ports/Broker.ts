/**
 * The message broker between chat servers and gateways (Redis Pub/Sub in production).
 *
 * Contract:
 * - At most once: a payload published while nobody is subscribed to its channel is dropped;
 *   a subscriber may miss payloads while it is (re)subscribing. Nothing is persisted.
 * - Ordered per publisher and channel: two payloads published by the same publisher to the
 *   same channel are delivered to each subscriber in publish order.
 * - `publish` resolves once the broker accepted the payload (not when it was delivered) and
 *   returns how many subscribers it was handed to, as Redis PUBLISH does.
 * - Handlers are never called synchronously inside `publish`.
 * Each gateway subscribes to exactly one channel of its own; payloads are opaque strings.
 */
export interface Broker {
  publish(channel: string, payload: string): Promise<number>;
  subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription>;
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}
