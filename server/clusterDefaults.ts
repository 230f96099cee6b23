import { DEFAULT_CASSANDRA } from './cassandra/client.ts';
import { DEFAULT_LIMITS } from './protocol/limits.ts';

/**
 * The reference cluster's shape when nobody says otherwise: the one table that `chatsim serve`,
 * the scenario schema (scenarios/schema.json, cluster.*: proven equal by
 * test/scenario/schemaDefaults.test.ts) and the cluster classes take their defaults from.
 * Server limits (presence debounce and TTL among them) are DEFAULT_LIMITS (server/protocol/limits.ts).
 */
export const CLUSTER_DEFAULTS = Object.freeze({
  gateways: 2,
  chatServers: 2,
  processes: 'single' as const,
  /** `local`: a Redis the run starts for itself. */
  redis: 'local',
  cassandra: DEFAULT_CASSANDRA,
  presenceDebounceMs: DEFAULT_LIMITS.presenceDebounceMs,
});
