import type { Broker } from '../ports/Broker.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import { gatewayChannel, type GatewayDelivery } from '../protocol/envelopes.ts';

/**
 * Routes one frame to users' live connections: one presence lookup for all recipients, then
 * one broker publish per gateway that holds any of them (never one per recipient).
 */
export class Router {
  constructor(private readonly presence: PresenceStore, private readonly broker: Broker) {}

  async toUsers(userIds: readonly string[], frame: string, exceptConnection?: string): Promise<void> {
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
    await Promise.all([...byGateway].map(([gatewayId, to]) => this.publish(gatewayId, { kind: 'deliver', to, frame })));
  }

  async toConnection(gatewayId: string, connectionId: string, frame: string): Promise<void> {
    await this.publish(gatewayId, { kind: 'deliver', to: [connectionId], frame });
  }

  private async publish(gatewayId: string, delivery: GatewayDelivery): Promise<void> {
    await this.broker.publish(gatewayChannel(gatewayId), JSON.stringify(delivery));
  }
}
