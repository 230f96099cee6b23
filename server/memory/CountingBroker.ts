import type { Broker, Subscription } from '../ports/Broker.ts';

/** A Broker decorator that counts publishes per channel: how fan-out is measured. */
export class CountingBroker implements Broker {
  readonly publishesByChannel = new Map<string, number>();
  totalPublishes = 0;

  constructor(private readonly inner: Broker) {}

  publish(channel: string, payload: string): Promise<number> {
    this.totalPublishes++;
    this.publishesByChannel.set(channel, (this.publishesByChannel.get(channel) ?? 0) + 1);
    return this.inner.publish(channel, payload);
  }

  subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    return this.inner.subscribe(channel, handler);
  }

  reset(): void {
    this.totalPublishes = 0;
    this.publishesByChannel.clear();
  }
}
