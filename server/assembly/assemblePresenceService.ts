import type { ServerBugEquipment } from '../bugs/serverBugEquipment.ts';
import type { Broker } from '../ports/Broker.ts';
import type { TimeSource } from '../ports/Clock.ts';
import type { Directory } from '../ports/Directory.ts';
import type { Metrics } from '../ports/Metrics.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import { PresenceService } from '../presence/PresenceService.ts';
import type { ServerLimits } from '../protocol/limits.ts';

export interface PresenceServiceAssembly {
  time: TimeSource;
  limits: ServerLimits;
  metrics: Metrics;
  ports: { broker: Broker; presence: PresenceStore; directory: Directory };
  equipment: ServerBugEquipment;
}

/** The presence service from its (wrapped) ports, with the run's presence service bugs applied. */
export function assemblePresenceService(a: PresenceServiceAssembly): PresenceService {
  const { limits } = a.equipment.presenceService({ limits: a.limits });
  return new PresenceService({ time: a.time, ...a.ports, limits, metrics: a.metrics });
}
