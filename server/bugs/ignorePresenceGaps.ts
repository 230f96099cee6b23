import type { Broker, Subscription } from '../ports/Broker.ts';
import type { GatewayDelivery } from '../protocol/envelopes.ts';
import type { ServerBug } from './ServerBug.ts';

/**
 * Bug 'ignore-presence-gaps' as a broker wrapper for one gateway: the numbers of the presence
 * pushes (and the service's marks) never reach the gateway, so a lost push is never noticed.
 */
export class UnnumberedPresenceBroker implements Broker {
  constructor(private readonly inner: Broker) {}

  publish(channel: string, payload: string): Promise<number> {
    return this.inner.publish(channel, payload);
  }

  subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    return this.inner.subscribe(channel, (payload) => {
      const unnumbered = withoutNumbers(payload);
      if (unnumbered !== undefined) handler(unnumbered);
    });
  }
}

/** The payload without its presence number; undefined for a mark (dropped). */
function withoutNumbers(payload: string): string | undefined {
  let delivery: GatewayDelivery;
  try {
    delivery = JSON.parse(payload) as GatewayDelivery;
  } catch {
    return payload;
  }
  if (delivery?.kind === 'presence-mark') return undefined;
  if (delivery?.kind !== 'deliver' || delivery.presence === undefined) return payload;
  const { presence: _number, ...rest } = delivery;
  return JSON.stringify(rest);
}

export const ignorePresenceGaps: ServerBug = {
  entry: {
    name: 'ignore-presence-gaps', where: 'server', breaks: ['D3'],
    description: 'A gateway does not act on a gap in the numbers of the presence pushes on its channel: a friend\'s online lost by the broker (lose-broker-messages, lose-broker-channel) stays unseen until the observer next asks.',
  },
  gateway: (parts) => ({ ...parts, broker: new UnnumberedPresenceBroker(parts.broker) }),
};
