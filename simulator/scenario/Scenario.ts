import type { BackendChoice } from '../../server/backends/openBackends.ts';

/**
 * A scenario after loading and validation (simulator/scenario/loadScenario.ts), with every
 * default filled in. The YAML shape is the same, field for field; scenarios/schema.json is
 * the JSON Schema for the YAML. Durations in YAML may be numbers of ms or strings like
 * "90s", "2m", "500ms"; here they are always ms.
 */
export interface Scenario {
  name: string;
  description: string;
  seed: number;
  engine: 'live' | 'sim';
  /** Either a cluster to start, or a target to load. */
  cluster: ClusterSpec;
  target?: { httpUrl: string; adminToken?: string };
  population: PopulationSpec;
  load: LoadSpec;
  /** Link profiles and the share of phones on each; shares sum to 1. */
  network: Array<{ profile: NetworkProfileSpec; share: number }>;
  faults: FaultSpec[];
  durationMs: number;
  /** After the load: faults healed, links restored, phones keep syncing until quiet. */
  healMs: number;
  thresholds: string[];
  /** Bugs to inject (issue 4); empty by default. */
  bugs: string[];
  /** What only the simulation engine models; the live engine ignores it. */
  sim: SimSpec;
}

/** A latency range in whole ms, both ends inclusive. */
export interface MsRange {
  min: number;
  max: number;
}

export interface SimSpec {
  /** Each chat server's clock is off by a fixed skew drawn from the seed in [-clockSkewMs, +clockSkewMs]. */
  clockSkewMs: number;
  /** Round-trip latency of each call to a backend port, drawn uniformly per call. */
  portLatencyMs: { store: MsRange; broker: MsRange; queue: MsRange; presence: MsRange; directory: MsRange };
}

export interface ClusterSpec {
  gateways: number;
  chatServers: number;
  /**
   * single: the whole cluster in the harness's process (server/Cluster.ts). multi: a process per
   * gateway and chat server slot plus one for the HTTP API (server/process/ProcessCluster.ts),
   * every port on Redis or Cassandra.
   */
  processes: 'single' | 'multi';
  /** Which implementation backs each port (multi: all real). */
  implementations: BackendChoice;
  /** A redis:// URL, or 'local': a Redis of the run's own. */
  redis: string;
  /** HOST:PORT of the Cassandra node. */
  cassandra: string;
  presenceDebounceMs: number;
  /** Overrides of server limits (server/protocol/limits.ts), by name. */
  limits: Record<string, number>;
}

export interface PopulationSpec {
  users: number;
  /** Devices per user: a distribution, e.g. [{ devices: 1, share: 0.8 }, { devices: 2, share: 0.2 }]. */
  devices: Array<{ devices: number; share: number }>;
  /** Each user gets about this many 1:1 chats with random others. */
  directChatsPerUser: number;
  groups: { count: number; size: { min: number; max: number } };
  friendsPerUser: number;
}

export interface LoadSpec {
  model: 'closed' | 'open';
  /** Closed model: phones connect along these ramps (target = connected phones at the end of the stage). */
  ramp: Array<{ durationMs: number; target: number }>;
  /** Open model: new sessions per second along these stages. */
  arrival: Array<{ durationMs: number; ratePerSec: number }>;
  /** Messages each foreground phone sends per minute. */
  messagesPerMinute: number;
  /** Share of time a phone spends in the foreground (reading, typing). */
  foregroundShare: number;
  /** Probability that a phone types before it sends. */
  typingShare: number;
  bodyBytes: { min: number; max: number };
}

export interface NetworkProfileSpec {
  name: string;
  latencyMs: { base: number; jitter: number };
  /** Bytes per second each way; 0 = unlimited. */
  bandwidthBytesPerSec: number;
  /** Average stalls per minute, each freezing the link for stallMs. */
  stallsPerMinute: number;
  stallMs: { min: number; max: number };
  /** Average half-open episodes per minute (frames silently lost both ways until heartbeats notice). */
  halfOpenPerMinute: number;
  /** Average abrupt resets per minute. */
  resetsPerMinute: number;
  /** Average offline windows per minute (airplane mode, tunnels), each offlineMs long. */
  offlinePerMinute: number;
  offlineMs: { min: number; max: number };
  /** Average network switches per minute (new connection while the old one is half-open). */
  switchesPerMinute: number;
}

export type FaultSpec =
  | { atMs: number; kind: 'restart-chat-servers'; crash: boolean }
  | { atMs: number; kind: 'crash-gateway'; gateway: number }
  | { atMs: number; kind: 'pause-gateway'; gateway: number; forMs: number }
  | { atMs: number; kind: 'partition-gateway'; gateway: number; forMs: number }
  /** The chat server in slot `chatServer` stops processing for forMs (frames handed to it wait). */
  | { atMs: number; kind: 'pause-chat-server'; chatServer: number; forMs: number }
  /** The chat server in slot `chatServer` dies at once (SIGKILL when it is a process) and a new one takes the slot. */
  | { atMs: number; kind: 'kill-chat-server'; chatServer: number }
  /** For forMs the broker drops each published payload with probability `share` (0..1]. */
  | { atMs: number; kind: 'lose-broker-messages'; share: number; forMs: number };
