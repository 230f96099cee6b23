import type { Broker } from '../ports/Broker.ts';
import type { ChatRecord } from '../ports/Directory.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import { gatewayChannel, type GatewayDelivery, type PresenceStamp } from '../protocol/envelopes.ts';

/** Where a chat server sends what it has to say: to a chat's members, to users, to one connection. */
export interface ChatRouter {
  /** A chat message to every member's live connections but `exceptConnection` (the sender's). */
  toMembers(chat: ChatRecord, frame: string, exceptConnection?: string): Promise<void>;
  toUsers(userIds: readonly string[], frame: string, exceptConnection?: string, stamp?: (gatewayId: string) => PresenceStamp): Promise<void>;
  toConnection(gatewayId: string, connectionId: string, frame: string): Promise<void>;
}

/**
 * Routes one frame to users' live connections: one presence lookup for all recipients, then
 * one broker publish per gateway that holds any of them (never one per recipient).
 */
export class Router implements ChatRouter {
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

  toMembers(chat: ChatRecord, frame: string, exceptConnection?: string): Promise<void> {
    return this.toUsers([...chat.members.keys()], frame, exceptConnection);
  }

  async toConnection(gatewayId: string, connectionId: string, frame: string): Promise<void> {
    await this.publish(gatewayId, { kind: 'deliver', to: [connectionId], frame });
  }

  private async publish(gatewayId: string, delivery: GatewayDelivery): Promise<void> {
    await this.broker.publish(gatewayChannel(gatewayId), JSON.stringify(delivery));
  }
}
