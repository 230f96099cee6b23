import type { ChatRouter } from '../chat/Router.ts';
import type { Broker, Subscription } from '../ports/Broker.ts';
import type { ChatRecord } from '../ports/Directory.ts';
import { gatewayChannel, type GatewayDelivery } from '../protocol/envelopes.ts';
import { PassThroughRouter } from './PassThroughRouter.ts';
import type { ServerBug } from './ServerBug.ts';

/** What the bugged router publishes on every gateway channel: a frame for every connection there but `except`. */
interface LeakDelivery {
  kind: 'leak-to-every-connection';
  except?: string;
  frame: string;
}

/** Bug 'route-to-every-gateway', the chat server half: a chat message goes to every gateway, for all of its connections. */
export class EveryGatewayRouter extends PassThroughRouter {
  constructor(inner: ChatRouter, private readonly broker: Broker, private readonly gatewayIds: () => readonly string[]) {
    super(inner);
  }

  override async toMembers(_chat: ChatRecord, frame: string, exceptConnection?: string): Promise<void> {
    const leak: LeakDelivery = exceptConnection === undefined ? { kind: 'leak-to-every-connection', frame } : { kind: 'leak-to-every-connection', except: exceptConnection, frame };
    const payload = JSON.stringify(leak);
    await Promise.all(this.gatewayIds().map((gatewayId) => this.broker.publish(gatewayChannel(gatewayId), payload)));
  }
}

/**
 * Bug 'route-to-every-gateway', the gateway half: a leak on the gateway's channel is handed to
 * the gateway as a delivery to every connection it holds (but the sender's).
 */
export class LeakingGatewayBroker implements Broker {
  constructor(private readonly inner: Broker, private readonly connectionIds: () => readonly string[]) {}

  publish(channel: string, payload: string): Promise<number> {
    return this.inner.publish(channel, payload);
  }

  subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    return this.inner.subscribe(channel, (payload) => handler(this.expand(payload)));
  }

  private expand(payload: string): string {
    let leak: LeakDelivery;
    try {
      leak = JSON.parse(payload) as LeakDelivery;
    } catch {
      return payload;
    }
    if (leak?.kind !== 'leak-to-every-connection') return payload;
    const delivery: GatewayDelivery = { kind: 'deliver', to: this.connectionIds().filter((id) => id !== leak.except), frame: leak.frame };
    return JSON.stringify(delivery);
  }
}

export const routeToEveryGateway: ServerBug = {
  entry: {
    name: 'route-to-every-gateway', where: 'server', breaks: ['A10'],
    description: 'A message is published to every gateway and delivered to every connection there, members or not.',
  },
  chatServer: (parts, context) => ({ ...parts, router: new EveryGatewayRouter(parts.router, parts.broker, () => context.gatewayIds()) }),
  gateway: (parts, context) => ({ ...parts, broker: new LeakingGatewayBroker(parts.broker, () => context.connectionIds()) }),
};
