import type { BugSet } from './bugs/BugCatalogue.ts';
import type { FaultEquipment } from './faults/FaultEquipment.ts';
import type { GatewayListenerFactory } from './gateway/GatewayListener.ts';
import type { Broker } from './ports/Broker.ts';
import type { Clock, TimeSource } from './ports/Clock.ts';
import type { Directory } from './ports/Directory.ts';
import type { InboundQueue } from './ports/InboundQueue.ts';
import type { Log } from './ports/Log.ts';
import type { MessageStore } from './ports/MessageStore.ts';
import type { Metrics, MetricsExposition } from './ports/Metrics.ts';
import type { PresenceStore } from './ports/PresenceStore.ts';
import type { Random } from './ports/Random.ts';
import type { ServerLimits } from './protocol/limits.ts';

/** The shared backends every part of a cluster talks to. */
export interface ClusterBackends {
  broker: Broker;
  queue: InboundQueue;
  presence: PresenceStore;
  store: MessageStore;
  directory: Directory;
}

export interface ClusterOptions {
  time: TimeSource;
  random?: Random;
  /** Default: CLUSTER_DEFAULTS.gateways (server/clusterDefaults.ts), as every default of the cluster's shape. */
  gateways?: number;
  /** Default: CLUSTER_DEFAULTS.chatServers. */
  chatServers?: number;
  limits?: Partial<ServerLimits>;
  backends?: Partial<ClusterBackends>;
  host?: string;
  /** HTTP API port; gateways take the next ports. 0 picks free ports. */
  port?: number;
  /** HMAC key of login tokens. Absent: a fresh random one (server/auth/clusterSecrets.ts). */
  tokenSecret?: string;
  /** Token of the /v1/admin endpoints. Absent: a fresh random one, read back as `adminToken`. */
  adminToken?: string;
  /**
   * Injected defects (server/bugs/BugCatalogue.ts), to prove the checkers catch them, applied
   * to the parts as they are assembled (server/bugs/serverBugEquipment.ts). Absent or empty:
   * the correct cluster. Phone-side bugs in the set are ignored here.
   */
  bugs?: BugSet;
  /**
   * The fault equipment to install (server/faults/FaultEquipment.ts): what the faults the run
   * will play need (simulator/faults/faultKinds.ts faultEquipmentFor), and nothing else. Absent
   * or empty: none, and a fault method of the cluster (pauseGateway, loseBrokerMessages,
   * openBackendFault, ...) fails an assertion.
   */
  faultEquipment?: Iterable<FaultEquipment>;
  /** How clients reach the gateways: real WebSockets by default; the simulation's network. */
  gatewayListeners?: GatewayListenerFactory;
  /**
   * 'listen' (default): the HTTP API on a port. 'in-process': no socket; callers use
   * `cluster.http.handle` (the simulation engine), through the same routes.
   */
  http?: 'listen' | 'in-process';
  /**
   * The clock of the chat server in slot `index` (its id changes with every restart; the slot,
   * a machine, stays). Default: `time`. The simulation engine gives each slot a skewed clock.
   * Timers stay `time`'s: a skew shifts readings, not durations.
   */
  chatServerClock?: (server: { index: number; id: string }) => Clock;
  /**
   * Wraps the backends once they are made (the memory defaults included), before any part of
   * the cluster gets them: the simulation engine adds port latencies here. The fault wrappers
   * (server/faults/: LossyBroker, ...) sit inside, around the ports themselves.
   */
  decorateBackends?: (backends: ClusterBackends) => ClusterBackends;
  /** Where incidents go (HTTP 500s, failed upgrades, dead-lettered frames); default JSON lines on stderr. */
  log?: Log;
  /**
   * Where every part records its metrics (docs/metrics.md). Default: a prom-client registry,
   * served at the API's `GET /metrics` for the admin token, when the API listens; none with
   * `http: 'in-process'` (the simulation engine). `false`: none. A given `Metrics` that also has
   * `exposition` (a PromMetrics) is served at /metrics.
   */
  metrics?: (Metrics & { exposition?(accept: string): Promise<MetricsExposition> }) | false;
}
