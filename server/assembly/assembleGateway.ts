import type { ServerBugEquipment } from '../bugs/serverBugEquipment.ts';
import { GatewayPause } from '../faults/GatewayPause.ts';
import { Gateway } from '../gateway/Gateway.ts';
import type { GatewayEntry } from '../gateway/GatewayListener.ts';
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
  /** Puts a GatewayPause around the gateway's inputs (the in-process cluster, for pause-gateway). */
  pausable?: boolean;
}

export interface AssembledGateway {
  gateway: Gateway;
  /** What its listener hands links to: the gateway, or the pause in front of it. */
  entry: GatewayEntry;
  /** Where it is paused and resumed, when assembled `pausable`. */
  pause?: GatewayPause;
  /** Graceful stop (Gateway.stop), ending a pause first (the closes that waited are handled). */
  stop(): Promise<void>;
  /** A crash (Gateway.crash), dropping whatever waited in a pause. */
  crash(): Promise<void>;
}

/** A gateway from its (wrapped) ports, with the run's gateway bugs applied. */
export function assembleGateway(a: GatewayAssembly): AssembledGateway {
  // The bugs ask for the connections only once the gateway runs (after this returns).
  const parts = a.equipment.gateway(
    { broker: a.ports.broker, presence: a.ports.presence, bootId: a.bootId },
    { connectionIds: () => gateway.connectionIds() },
  );
  const pause = a.pausable ? new GatewayPause() : undefined;
  const gateway = new Gateway({
    id: a.id, time: pause ? pause.time(a.time) : a.time, broker: pause ? pause.broker(parts.broker) : parts.broker, queue: a.ports.queue,
    presence: parts.presence, limits: a.limits, metrics: a.metrics,
    ...(parts.bootId === undefined ? {} : { bootId: parts.bootId }),
  });
  return {
    gateway,
    entry: pause ? pause.front(gateway) : gateway,
    ...(pause ? { pause } : {}),
    stop: () => {
      pause?.settle('handle');
      return gateway.stop();
    },
    crash: () => {
      pause?.settle('drop');
      return gateway.crash();
    },
  };
}
