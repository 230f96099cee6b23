import type { BackendChoice } from '../../server/backends/openBackends.ts';
import type { ScenarioEvent } from './scenarioEvents.ts';
import type { Threshold } from './thresholds.ts';
import type { BugName } from '../../server/bugs/BugCatalogue.ts';

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
  target?: TargetSpec;
  population: PopulationSpec;
  load: LoadSpec;
  /** Link profiles and the share of phones on each; shares sum to 1. */
  network: Array<{ profile: NetworkProfileSpec; share: number }>;
  faults: FaultSpec[];
  /** Membership changes, device lifecycle and correlated load at scenario times (scenarioEvents.ts); empty by default. */
  events: ScenarioEvent[];
  durationMs: number;
  /** After the load: faults healed, links restored, phones keep syncing until quiet. */
  healMs: number;
  /** Parsed by the loader (simulator/scenario/parseNamedLists.ts); each keeps its text as written. */
  thresholds: Threshold[];
  /** Bugs to inject (issue 4); empty by default. */
  bugs: BugName[];
  /** What only the simulation engine models; the live engine ignores it. */
  sim: SimSpec;
  /** Wall clocks that are off (both engines); jumps are `clock-jump` faults. */
  clocks?: ClockSpec;
}

/** A running server to load instead of the reference cluster, and the protocol the phones speak to it. */
export interface TargetSpec {
  /**
   * What the target is (default chatsim): a chatsim cluster provisioned over its HTTP API, or an
   * ejabberd provisioned over mod_http_api (users, rosters) whose phones speak XMPP.
   */
  kind?: 'chatsim' | 'ejabberd';
  /** chatsim: the cluster's HTTP API; ejabberd: its HTTP listener (default EJABBERD_HTTP_DEFAULT_URL). */
  httpUrl: string;
  /**
   * ejabberd only: the XMPP service phones connect to (default EJABBERD_XMPP_DEFAULT_URL): ws://
   * (XMPP over WebSocket, RFC 7395, on each phone's shaped link: its network profile applies) or
   * xmpp:// (TCP from xmpp.js's own sockets: links not shaped).
   */
  xmppUrl?: string;
  adminToken?: string;
  /**
   * The phones' driver (simulator/engine/phoneDrivers.ts): `chatsim.v1` (default), `xmpp`, or
   * the path of a driver module that default-exports a DriverFactory (the loader resolves a
   * relative path against the scenario file's directory).
   */
  driver?: string;
  /** Handed to the driver factory as written (xmpp: `domain`, `saslMechanism`). */
  driverOptions?: Record<string, unknown>;
}

/** scripts/ejabberd.sh's default ports on loopback. */
export const EJABBERD_HTTP_DEFAULT_URL = 'http://127.0.0.1:25280';
export const EJABBERD_XMPP_DEFAULT_URL = 'ws://127.0.0.1:25280/ws';

/** Fixed wall-clock skews, each drawn from the seed uniformly in ±the bound (whole ms). */
export interface ClockSpec {
  phoneSkewMs: number;
  chatServerSkewMs: number;
}

/** At atMs the wall clock of phones (a share of them) or chat servers (one slot or all) steps by byMs. */
export type ClockJumpSpec = { atMs: number; kind: 'clock-jump'; target: 'phones' | 'chat-servers'; byMs: number; share?: number; chatServer?: number };

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
  /** Share of devices that sync by token instead of by watermarks (drawn per device); 0 by default. */
  tokenSyncShare?: number;
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
  | { atMs: number; kind: 'lose-broker-messages'; share: number; forMs: number }
  /**
   * A target chatsim did not start restarts (target.kind ejabberd: scripts/ejabberd.sh restart):
   * it stays stopped forMs (0: a restart at once), and the fault lasts until it answers again.
   * The reference cluster and a chatsim --target cannot take it (simulator/faults/faultVenue.ts).
   */
  | { atMs: number; kind: 'restart-target'; forMs: number }
  | ClockJumpSpec
  | BackendFaultSpec;

/**
 * The backend faults (scenarios/schema.json `backendFault`; docs/architecture.md "Backend
 * faults"). Each is played by a wrapper around a port, or by the cluster's assembly (a gateway
 * killed or drained and started again), never by a branch in server logic.
 */
export type BackendFaultSpec =
  /** For forMs every MessageStore call fails (the store is down: connection refused). */
  | { atMs: number; kind: 'store-outage'; forMs: number }
  /** For forMs every MessageStore call takes latencyMs more (a compaction, a GC pause of the store). */
  | { atMs: number; kind: 'slow-store'; latencyMs: number; forMs: number }
  /**
   * The presence store (a Redis without persistence) restarts: every entry and every
   * last-disconnect time is lost, and for forMs (0: none) its calls fail while it comes back.
   */
  | { atMs: number; kind: 'restart-presence-store'; forMs: number }
  /** The gateway dies at once (SIGKILL when it is a process) and comes back on the same port after forMs, with no state. */
  | { atMs: number; kind: 'kill-gateway'; gateway: number; forMs: number }
  /**
   * The gateway drains: it stops accepting, closes every connection with 1001 GOING_AWAY
   * (reconnect elsewhere) and stops; after forMs it comes back on the same port, or, with no
   * forMs, stays out until the run ends.
   */
  | { atMs: number; kind: 'drain-gateway'; gateway: number; forMs?: number }
  /** For forMs the broker delivers each published payload twice with probability share. */
  | { atMs: number; kind: 'duplicate-broker-messages'; share: number; forMs: number }
  /** For forMs the broker holds each published payload back with probability share, delivering it after the next one of its channel. */
  | { atMs: number; kind: 'reorder-broker-messages'; share: number; forMs: number }
  /**
   * For forMs the broker drops, with probability share, payloads of one channel only:
   * `presence` (the gateways' connect and disconnect events) or `gateway` (the deliveries to
   * gateway `gateway`); every other channel is untouched.
   */
  | { atMs: number; kind: 'lose-broker-channel'; channel: 'presence' | 'gateway'; gateway?: number; share: number; forMs: number };
