import type { ServerBugEquipment } from '../bugs/serverBugEquipment.ts';
import { Gateway } from '../gateway/Gateway.ts';
import type { Broker } from '../ports/Broker.ts';
import type { TimeSource } from '../ports/Clock.ts';
import type { InboundQueue } from '../ports/InboundQueue.ts';
import type { Metrics } from '../ports/Metrics.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { ServerLimits } from '../protocol/limits.ts';

export interface GatewayAssembly {
  id: string;
  /** The gateway's life when it comes back under the same id (see GatewayDeps.bootId). */
  bootId?: string | undefined;
  time: TimeSource;
  limits: ServerLimits;
  metrics: Metrics;
  ports: { broker: Broker; queue: InboundQueue; presence: PresenceStore };
  equipment: ServerBugEquipment;
}

/** A gateway from its (wrapped) ports, with the run's gateway bugs applied. */
export function assembleGateway(a: GatewayAssembly): Gateway {
  // The bugs ask for the connections only once the gateway runs (after this returns).
  const parts = a.equipment.gateway(
    { broker: a.ports.broker, presence: a.ports.presence, bootId: a.bootId },
    { connectionIds: () => gateway.connectionIds() },
  );
  const gateway = new Gateway({
    id: a.id, time: a.time, broker: parts.broker, queue: a.ports.queue, presence: parts.presence, limits: a.limits, metrics: a.metrics,
    ...(parts.bootId === undefined ? {} : { bootId: parts.bootId }),
  });
  return gateway;
}
