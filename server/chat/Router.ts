import type { Broker } from '../ports/Broker.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import { gatewayChannel, type GatewayDelivery, type PresenceStamp } from '../protocol/envelopes.ts';

/**
 * Routes one frame to users' live connections: one presence lookup for all recipients, then
 * one broker publish per gateway that holds any of them (never one per recipient).
 */
export class Router {
  constructor(private readonly presence: PresenceStore, private readonly broker: Broker) {}

  /**
   * `stamp`, if given, numbers the payload of each gateway (presence pushes), called once per
   * gateway right before its publish so numbers follow publish order on each channel.
   */
  async toUsers(userIds: readonly string[], frame: string, exceptConnection?: string, stamp?: (gatewayId: string) => PresenceStamp): Promise<void> {
    if (userIds.length === 0) return;
    const presence = await this.presence.getMany(userIds);
    const byGateway = new Map<string, string[]>();
    for (const { entries } of presence.values()) {
      for (const entry of entries) {
        if (entry.connectionId === exceptConnection) continue;
        let list = byGateway.get(entry.gatewayId);
        if (!list) {
          list = [];
          byGateway.set(entry.gatewayId, list);
        }
        list.push(entry.connectionId);
      }
    }
    await Promise.all([...byGateway].map(([gatewayId, to]) => this.publish(gatewayId, stamp ? { kind: 'deliver', to, frame, presence: stamp(gatewayId) } : { kind: 'deliver', to, frame })));
  }

  /**
   * Publishes `frame` to every gateway for all of its connections (but `exceptConnection`),
   * whoever they belong to. Only the `route-to-every-gateway` bug calls this: it leaks.
   */
  async toEveryGateway(gatewayIds: readonly string[], frame: string, exceptConnection?: string): Promise<void> {
    const delivery: GatewayDelivery = exceptConnection === undefined ? { kind: 'broadcast', frame } : { kind: 'broadcast', except: exceptConnection, frame };
    await Promise.all(gatewayIds.map((gatewayId) => this.publish(gatewayId, delivery)));
  }

  async toConnection(gatewayId: string, connectionId: string, frame: string): Promise<void> {
    await this.publish(gatewayId, { kind: 'deliver', to: [connectionId], frame });
  }

  private async publish(gatewayId: string, delivery: GatewayDelivery): Promise<void> {
    await this.broker.publish(gatewayChannel(gatewayId), JSON.stringify(delivery));
  }
}
