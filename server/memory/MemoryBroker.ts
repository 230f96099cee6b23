import type { Broker, Subscription } from '../ports/Broker.ts';

/**
 * In-process broker. Delivery is deferred to a microtask, in publish order, so handlers never
 * run inside `publish` and ordering per publisher and channel holds, as the contract asks.
 */
export class MemoryBroker implements Broker {
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();

  async publish(channel: string, payload: string): Promise<number> {
    const subscribers = this.handlers.get(channel);
    if (!subscribers || subscribers.size === 0) return 0;
    const targets = [...subscribers];
    queueMicrotask(() => {
      for (const handler of targets) if (subscribers.has(handler)) handler(payload);
    });
    return targets.length;
  }

  async subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    // Wrap so one handler function subscribed twice counts as two subscriptions.
    const wrapped = (payload: string): void => handler(payload);
    set.add(wrapped);
    return {
      unsubscribe: async () => {
        set.delete(wrapped);
      },
    };
  }
}
