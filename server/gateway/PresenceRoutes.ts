import type { Broker } from '../ports/Broker.ts';
import type { TimeSource } from '../ports/Clock.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import { gatewayChannel, PRESENCE_EVENTS_CHANNEL, type GatewayDelivery, type PresenceEvent } from '../protocol/envelopes.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import type { GatewayClient } from './GatewayClient.ts';

export interface PresenceRoutesDeps {
  /** The gateway's id (its broker channel). */
  id: string;
  time: TimeSource;
  broker: Broker;
  presence: PresenceStore;
  limits: ServerLimits;
  /** True while the gateway is cut off from its backends (see Gateway.partition). */
  partitioned(): boolean;
  /** True while `client` is still the gateway's connection under its id. */
  holds(client: GatewayClient): boolean;
  write(client: GatewayClient, text: string): void;
}

/**
 * The presence entries of a gateway's connections: the routes chat servers read to push to
 * them. Written before the hello, refreshed by traffic (throttled), removed on close, and each
 * change announced to the presence service.
 */
export class PresenceRoutes {
  constructor(private readonly deps: PresenceRoutesDeps) {}

  /**
   * The route (the presence entry chat servers read to push) is written before the hello: the
   * phone syncs on hello, and a message stored after the sync read but before the route existed
   * would be neither in the sync nor pushed (the seam, property C3).
   */
  async registerThenGreet(client: GatewayClient, hello: string): Promise<void> {
    await this.register(client, () => {
      if (!client.closing && this.deps.holds(client)) this.deps.write(client, hello);
    });
    if (this.deps.partitioned()) return;
    // After the put, so of two racing connections at least the later one sees the other.
    await this.replaceElsewhere(client).catch(() => undefined);
  }

  /** Writes the presence entry, calls `onRouted` (also when the store failed), then announces. */
  async register(client: GatewayClient, onRouted: () => void = () => undefined): Promise<void> {
    const entry = { userId: client.user, connectionId: client.id, deviceId: client.device, gatewayId: this.deps.id };
    try {
      try {
        await this.deps.presence.put(entry, this.deps.limits.presenceTtlMs);
      } finally {
        onRouted();
      }
      await this.publish({ kind: 'connected', user: client.user, device: client.device, conn: client.id, gw: this.deps.id, atMs: this.deps.time.nowMs() });
    } catch {
      // Presence is refreshed on the next heartbeat; a broken store must not drop the link.
    }
  }

  refresh(client: GatewayClient, nowMs: number): void {
    if (nowMs - client.lastPresenceRefreshAtMs < presenceRefreshEveryMs(this.deps.limits)) return;
    // The store is out of reach: nothing is stamped, and the heal puts every entry back at once.
    if (this.deps.partitioned()) return;
    client.lastPresenceRefreshAtMs = nowMs;
    const ttlMs = this.deps.limits.presenceTtlMs;
    void this.deps.presence.refresh(client.user, client.id, ttlMs).then(
      // An entry found gone (the store restarted empty) is written again. A connection closed
      // while the refresh was on its way is not put back: its close already removed the entry.
      (found) => (found || !this.deps.holds(client) ? undefined : this.register(client)),
      () => undefined,
    );
  }

  async unregister(client: GatewayClient): Promise<void> {
    try {
      await this.deps.presence.remove(client.user, client.id);
      await this.publish({ kind: 'disconnected', user: client.user, device: client.device, conn: client.id, gw: this.deps.id, atMs: this.deps.time.nowMs() });
    } catch {
      // The entry expires by its TTL and the presence service's sweep notices it.
    }
  }

  /** Asks the gateways holding an older connection of this client's device to close it. */
  private async replaceElsewhere(client: GatewayClient): Promise<void> {
    const presence = await this.deps.presence.getMany([client.user]);
    const byGateway = new Map<string, string[]>();
    for (const entry of presence.get(client.user)?.entries ?? []) {
      if (entry.deviceId !== client.device || entry.connectionId === client.id || entry.gatewayId === this.deps.id) continue;
      byGateway.set(entry.gatewayId, [...(byGateway.get(entry.gatewayId) ?? []), entry.connectionId]);
    }
    for (const [gatewayId, to] of byGateway) {
      const delivery: GatewayDelivery = { kind: 'replace', to, by: client.id, atMs: client.connectedAtMs };
      await this.deps.broker.publish(gatewayChannel(gatewayId), JSON.stringify(delivery));
    }
  }

  private async publish(event: PresenceEvent): Promise<void> {
    if (this.deps.partitioned()) throw new Error('partitioned from the broker');
    await this.deps.broker.publish(PRESENCE_EVENTS_CHANNEL, JSON.stringify(event));
  }
}

/**
 * How often a connection's presence entry is refreshed (by whatever frame comes first after it).
 * Refreshing on every ping would cost one store write per ping; a third of the TTL is plenty,
 * unless that lets the entry lapse on a connection the gateway still holds: a connection silent
 * for up to `heartbeatTimeoutMs` (closed by the next sweep after it) must stay present, so the
 * refresh that preceded its last frame must reach past that. The scenario loader refuses a TTL
 * at or below heartbeatTimeoutMs + heartbeatSweepIntervalMs, which would make this 0.
 */
export function presenceRefreshEveryMs(limits: ServerLimits): number {
  const slackMs = limits.presenceTtlMs - limits.heartbeatTimeoutMs - limits.heartbeatSweepIntervalMs;
  return Math.max(0, Math.min(limits.presenceTtlMs / 3, slackMs));
}
