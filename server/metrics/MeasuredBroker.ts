import type { Broker, Subscription } from '../ports/Broker.ts';
import type { Clock } from '../ports/Clock.ts';
import type { Metrics } from '../ports/Metrics.ts';
import { brokerInstruments, channelLabel } from './instruments.ts';

/**
 * A Broker that counts publishes (`chatsim_broker_publishes_total{channel, outcome}`) and times
 * them on the injected clock, passing every call through unchanged (same contract as the
 * broker it wraps). Channels are labelled by kind (gateway, presence), never by name.
 */
export class MeasuredBroker implements Broker {
  private readonly instruments;

  constructor(private readonly inner: Broker, private readonly clock: Clock, metrics: Metrics) {
    this.instruments = brokerInstruments(metrics);
  }

  async publish(channel: string, payload: string): Promise<number> {
    const kind = channelLabel(channel);
    const startedMs = this.clock.nowMs();
    try {
      const receivers = await this.inner.publish(channel, payload);
      this.instruments.publishes.inc({ channel: kind, outcome: 'ok' });
      return receivers;
    } catch (error) {
      this.instruments.publishes.inc({ channel: kind, outcome: 'error' });
      throw error;
    } finally {
      this.instruments.latency.observe({ channel: kind }, (this.clock.nowMs() - startedMs) / 1000);
    }
  }

  subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    return this.inner.subscribe(channel, handler);
  }
}
