import type { FaultEquipment } from '../faults/FaultEquipment.ts';
import type { TimeSource } from '../ports/Clock.ts';
import type { ServerLimits } from '../protocol/limits.ts';

/** How a ProcessCluster is started (server/process/ProcessCluster.ts). */
export interface ProcessClusterOptions {
  time: TimeSource;
  /** Default: CLUSTER_DEFAULTS.gateways (server/clusterDefaults.ts), as every default of the cluster's shape. */
  gateways?: number;
  /** Default: CLUSTER_DEFAULTS.chatServers. */
  chatServers?: number;
  host?: string;
  /** Each chat server slot's wall clock offset at start, ms (scenario clocks.chatServerSkewMs); 0 for slots not listed. */
  chatServerClockOffsetsMs?: number[];
  /** HTTP API port; gateway i listens on port + 1 + i. 0 picks free ports. */
  port?: number;
  /** `redis://...` of a running server, or 'local' to start one (redis-memory-server with the system redis-server). */
  redis: string;
  /** HOST:PORT of a Cassandra node (default CLUSTER_DEFAULTS.cassandra). */
  cassandra?: string;
  /**
   * Keyspace of the message store; created with the schema if missing. Default: a fresh
   * `chatsim_<random>` dropped again at stop, so runs never see each other's messages.
   */
  keyspace?: string;
  /** Key and channel namespace in Redis (default: a fresh `chatsim:<random>:`, its keys deleted at stop). */
  redisPrefix?: string;
  limits?: Partial<ServerLimits>;
  /** Server-side bug names (server/bugs/): each node applies its own part of them at assembly. */
  bugs?: readonly string[];
  /**
   * The fault wrappers every node installs (server/faults/FaultEquipment.ts): what the faults the
   * run will play need; the pauses need none here (SIGSTOP). Absent: none, and a fault that needs
   * a wrapper (loseBrokerMessages, openBackendFault, restartPresenceStore) fails an assertion.
   */
  faultEquipment?: Iterable<FaultEquipment>;
  /**
   * HMAC key of login tokens. Absent: a fresh random one. Every node gets it (and the admin
   * token) in its spec, in the environment of its process, never on a command line.
   */
  tokenSecret?: string;
  /** Token of the /v1/admin endpoints. Absent: a fresh random one, read back as `adminToken`. */
  adminToken?: string;
  seed?: number;
  /** Idle time after which a dead chat server's queue turns are claimed by another, in ms (default 3,000). */
  queueClaimIdleMs?: number;
  /** Each node's stdout and stderr go to `<logDir>/<node>.log`; without it, stderr is inherited and stdout dropped. */
  logDir?: string;
  /** Called with one line per supervisor event (a node started, died, was restarted). */
  onLog?: (line: string) => void;
  /** How long a node may take to say it is ready, in ms (default 60,000: tsx compiles each process's modules on start). */
  nodeStartTimeoutMs?: number;
  /** How long a graceful stop may take before the node is killed, in ms (default 10,000). */
  nodeStopTimeoutMs?: number;
}
