import type { BackendFaultWindow } from './faults/BackendFaultWindow.ts';
import type { EndWindow } from './faults/FaultWindows.ts';
import type { EndLoss } from './faults/LossyBroker.ts';
import type { MessageStore } from './ports/MessageStore.ts';
import type { MetricsTarget } from './ports/Metrics.ts';

export interface ClusterAddress {
  httpUrl: string;
  gatewayUrls: string[];
}

/**
 * What a run needs of a reference cluster it started: its address, the fault injections of
 * the scenario timeline, and the message store to read the ground truth from afterwards.
 * Two implementations: `Cluster` (every part in this process, meeting only through the ports)
 * and `ProcessCluster` (each gateway and chat server a process of its own over Redis and
 * Cassandra). A fault means the same in both; how faithfully each plays it is documented on
 * the implementation (a process can really be SIGKILLed or SIGSTOPped; an object can only
 * imitate that).
 *
 * Indexes are slots: `chatServer` 0 is the first chat server slot whatever incarnation runs
 * in it now. Every method resolves once the fault is in place (or over, for instant ones).
 */
export interface ClusterControl {
  readonly adminToken: string;
  start(): Promise<ClusterAddress>;
  stop(): Promise<void>;
  /** Replaces every chat server, one slot at a time (graceful stop, or crash), without touching a WebSocket. */
  restartChatServers(options?: { crash?: boolean }): Promise<number>;
  /** The chat server in slot `index` dies at once (SIGKILL) and a new one takes its slot; its frames under way are handed out again. */
  killChatServer(index: number): Promise<void>;
  /** The gateway dies without a word: links drop with no closing handshake, its presence entries are left to expire. */
  crashGateway(index: number): Promise<void>;
  /** The gateway drains: every connection closed with 1001 GOING_AWAY, then it stops and stops listening. */
  drainGateway(index: number): Promise<void>;
  /** A crashed or drained gateway comes back on the same port with the same id, with no state (a new boot id). */
  reviveGateway(index: number): Promise<void>;
  /**
   * Opens a window of a backend fault (server/faults/BackendFaultWindow.ts) on every process
   * that has the port, until the returned function is called (and, when it returns a promise,
   * that settles).
   */
  openBackendFault(window: BackendFaultWindow): Promise<() => Promise<void>> | EndWindow;
  /** The presence store restarts and comes back empty; its calls fail until the returned function is called. */
  restartPresenceStore(): Promise<() => Promise<void>> | EndWindow;
  /** The gateway's process stops (nothing read or answered) until `resumeGateway`. */
  pauseGateway(index: number): Promise<void> | void;
  resumeGateway(index: number): Promise<void> | void;
  /** Sockets stay up but the gateway cannot reach broker, queue or presence store until healed. */
  partitionGateway(index: number): Promise<void>;
  healGatewayPartition(index: number): Promise<void>;
  /** The chat server in slot `index` stops processing until `resumeChatServer`. */
  pauseChatServer(index: number): Promise<void> | void;
  resumeChatServer(index: number): Promise<void> | void;
  /**
   * Until the returned function is called (and, when it returns a promise, that settles),
   * publishers' brokers drop each payload with probability `share`.
   */
  loseBrokerMessages(share: number): Promise<() => Promise<void>> | EndLoss;
  /** Payloads dropped so far, and those let through while losing, summed over the cluster. */
  brokerLossStats(): Promise<BrokerLossStats> | BrokerLossStats;
  /** The cluster's message store, for reading what it holds after the run (B2's ground truth). */
  messageStore(): Promise<MessageStore>;
  /**
   * Every node's metrics endpoint, as a Prometheus http_sd / file_sd target list (also served at
   * the API's GET /v1/admin/metrics-targets); scraping needs the admin token (docs/metrics.md).
   */
  metricsTargets(): MetricsTarget[];
}

export interface BrokerLossStats {
  dropped: number;
  passedDuringLoss: number;
}
