import type { BackendConfig } from '../backends/openBackends.ts';
import type { BackendFaultWindow } from '../faults/BackendFaultWindow.ts';
import type { FaultEquipment } from '../faults/FaultEquipment.ts';
import type { MetricsTarget } from '../ports/Metrics.ts';
import type { ServerLimits } from '../protocol/limits.ts';

/** What every node of a ProcessCluster shares: backends, limits, secrets, injected bugs. */
export interface NodeCommon {
  backends: BackendConfig;
  limits: ServerLimits;
  tokenSecret: string;
  adminToken: string;
  /** Server-side bug names (server/bugs/BugCatalogue.ts); the store's bugs are not available on Cassandra. */
  bugs: string[];
  /** Seed of this node's random streams (the broker-loss fault draws from it). */
  seed: number;
  /** Every gateway's id (the route-to-every-gateway bug needs them). */
  gatewayIds: string[];
  /**
   * The fault wrappers each node installs around its ports (those the run's faults need, less
   * the pauses: a node is paused with SIGSTOP). Absent: none.
   */
  faultEquipment?: FaultEquipment[];
  /** The presence store's generation (RestartablePresenceStore): a node started after a restart-presence-store fault starts there. */
  presenceGeneration?: number;
}

/** One node process: what it is and where it listens. Passed as JSON in CHATSIM_NODE_SPEC. */
export type NodeSpec =
  /** bootId: set when the gateway comes back after a crash or drain (kill-gateway, drain-gateway). */
  | (NodeCommon & { role: 'gateway'; id: string; host: string; port: number; bootId?: string; metricsPort: number })
  /** clockOffsetMs: how far the slot's wall clock is off (scenario clocks, clock-jump); 0 by default. */
  | (NodeCommon & { role: 'chat-server'; id: string; slot: number; host: string; metricsPort: number; clockOffsetMs?: number })
  /** metricsTargets: every other node's metrics endpoint, served with the API's own at GET /v1/admin/metrics-targets. */
  | (NodeCommon & { role: 'api'; id: string; host: string; port: number; gatewayUrls: string[]; metricsTargets: MetricsTarget[] });

export const NODE_SPEC_ENV = 'CHATSIM_NODE_SPEC';

/** Requests the supervisor sends a node over the IPC channel; each gets one `reply` with the same `rpc`. */
export type NodeRequest =
  | { type: 'partition'; rpc: number }
  | { type: 'heal-partition'; rpc: number }
  | { type: 'start-loss'; rpc: number; share: number; window: number }
  | { type: 'end-loss'; rpc: number; window: number }
  | { type: 'loss-stats'; rpc: number }
  /** Opens a backend fault window on the node's port wrappers (nodes without the port ignore it). */
  | { type: 'start-fault-window'; rpc: number; window: number; fault: BackendFaultWindow }
  | { type: 'end-fault-window'; rpc: number; window: number }
  /** A chat server node's wall clock steps by byMs (a clock-jump fault). */
  | { type: 'clock-step'; rpc: number; byMs: number }
  /** Graceful stop: finish what is under way, close, exit 0. */
  | { type: 'stop'; rpc: number };

/** What a node tells its supervisor. */
export type NodeMessage =
  /** Listening (url for gateways and the API) and consuming: the node is part of the cluster. */
  | { type: 'ready'; url?: string; metricsPort?: number }
  | { type: 'reply'; rpc: number; ok: true; stats?: { dropped: number; passedDuringLoss: number } }
  | { type: 'reply'; rpc: number; ok: false; message: string }
  /** The API's admin endpoint asks the supervisor to restart every chat server. */
  | { type: 'restart-chat-servers'; rpc: number }
  /** The node could not start; it exits after sending this. */
  | { type: 'failed'; message: string };

/** The supervisor's answer to a node's own request (`restart-chat-servers`). */
export interface SupervisorReply {
  type: 'supervisor-reply';
  rpc: number;
  /** How many chat servers were restarted; -1 when the restart failed. */
  restarted: number;
}
