import type { BrokerLossStats, ClusterAddress, ClusterControl } from '../ClusterControl.ts';
import { clusterSecrets, type ClusterSecrets } from '../auth/clusterSecrets.ts';
import { ALL_REAL, openBackends } from '../backends/openBackends.ts';
import { provisionBackends, type ProvisionedBackends } from '../backends/provisionBackends.ts';
import { ServerBugEquipment } from '../bugs/serverBugEquipment.ts';
import { isValidKeyspaceName } from '../cassandra/applySchema.ts';
import { CLUSTER_DEFAULTS } from '../clusterDefaults.ts';
import type { MessageStore } from '../ports/MessageStore.ts';
import type { MetricsTarget } from '../ports/Metrics.ts';
import { equipmentOf, type BackendFaultWindow } from '../faults/BackendFaultWindow.ts';
import { assertEquipped, type FaultEquipment } from '../faults/FaultEquipment.ts';
import { resolveLimits, type ServerLimits } from '../protocol/limits.ts';
import type { NodeCommon, NodeMessage, NodeSpec, SupervisorReply } from './nodeProtocol.ts';
import { NodeSupervisor, type NodeHandle, type NodeRequestBody } from './NodeSupervisor.ts';
import type { ProcessClusterOptions } from './ProcessClusterOptions.ts';

export type { ProcessClusterOptions } from './ProcessClusterOptions.ts';

/** Default claim idle for the multi-process cluster: frames of a killed chat server wait this long. */
const PROCESS_CLUSTER_QUEUE_CLAIM_IDLE_MS = 3_000;
/** Wait before restarting a node that died on its own, in ms (its port is free again by then). */
const RESTART_DELAY_MS = 200;
/** Failed restarts in a row of one dead node before the supervisor gives up on its slot (and logs it). */
const NODE_RESTART_ATTEMPTS_MAX = 5;

/**
 * The reference cluster as separate OS processes: one per gateway, one per chat server slot,
 * and one for the HTTP API with the presence service, all over Redis (broker, queue,
 * presence, directory) and Cassandra (message store). Each node is assembled from the same
 * classes as the in-process Cluster (server/process/runNode.ts); this supervisor only
 * starts, signals and restarts processes, like an orchestrator would.
 *
 * A node that dies on its own (not by a fault or a stop) is restarted in its slot, as an
 * orchestrator would: same id, and a gateway on the same port, after RESTART_DELAY_MS (see
 * restartDeadNode). Faults are the real thing: a crash is SIGKILL (a chat server slot gets a
 * new process, a gateway stays dead), a pause is SIGSTOP until SIGCONT (no lease is renewed meanwhile, so a
 * chat server paused past the queue's claim idle loses its turns to the others), a partition
 * is the gateway's own partition switch over IPC, and broker loss opens a window in every
 * publisher's LossyBroker (chat servers and the presence service; a chat server started
 * during the window loses nothing).
 */
export class ProcessCluster implements ClusterControl {
  readonly adminToken: string;
  readonly limits: ServerLimits;
  private readonly secrets: ClusterSecrets;
  private readonly gatewayNodes: NodeHandle[] = [];
  private readonly chatServerNodes: NodeHandle[] = [];
  private api: NodeHandle | undefined;
  private common: NodeCommon | undefined;
  private provisioned: ProvisionedBackends | undefined;
  private store: { store: MessageStore; close(): Promise<void> } | undefined;
  private generation = 0;
  private nextLossWindow = 0;
  private gatewayUrls: string[] = [];
  /** How many times each gateway slot came back, and the last stop or revival of each (they take turns). */
  private readonly gatewayLives = new Map<number, number>();
  private readonly gatewayTurns = new Map<number, Promise<void>>();
  /** The last replacement of each chat server slot (see replaceChatServer). */
  private readonly slotTurns = new Map<number, Promise<void>>();
  private stopping = false;
  private address: ClusterAddress | undefined;
  private readonly log: (line: string) => void;
  /** Forks, signals, stops the node processes and talks to them over IPC. */
  private readonly nodes: NodeSupervisor;
  private readonly faultEquipment: ReadonlySet<FaultEquipment>;

  constructor(private readonly options: ProcessClusterOptions) {
    this.secrets = clusterSecrets({ tokenSecret: options.tokenSecret, adminToken: options.adminToken });
    this.adminToken = this.secrets.adminToken;
    this.limits = resolveLimits(options.limits);
    this.log = options.onLog ?? (() => undefined);
    this.faultEquipment = new Set(options.faultEquipment ?? []); // what every node installs (a pause needs none: SIGSTOP)
    if (options.keyspace !== undefined && !isValidKeyspaceName(options.keyspace)) throw new Error(`invalid keyspace name: ${options.keyspace}`);
    this.nodes = new NodeSupervisor({
      time: options.time, log: this.log, stopping: () => this.stopping,
      ...(options.logDir !== undefined ? { logDir: options.logDir } : {}),
      ...(options.nodeStartTimeoutMs !== undefined ? { nodeStartTimeoutMs: options.nodeStartTimeoutMs } : {}),
      ...(options.nodeStopTimeoutMs !== undefined ? { nodeStopTimeoutMs: options.nodeStopTimeoutMs } : {}),
      onUnexpectedExit: (node) => this.restartDeadNode(node),
      onNodeRequest: (node, message) => this.onMessage(node, message),
    });
  }

  async start(): Promise<ClusterAddress> {
    this.provisioned = await provisionBackends({
      choice: ALL_REAL, redis: this.options.redis, cassandra: this.options.cassandra ?? CLUSTER_DEFAULTS.cassandra,
      ...(this.options.keyspace ? { keyspace: this.options.keyspace } : {}), ...(this.options.redisPrefix ? { redisPrefix: this.options.redisPrefix } : {}),
      queueClaimIdleMs: this.options.queueClaimIdleMs ?? PROCESS_CLUSTER_QUEUE_CLAIM_IDLE_MS,
    });
    const backends = this.provisioned.config;
    const gatewayIds = Array.from({ length: this.options.gateways ?? CLUSTER_DEFAULTS.gateways }, (_, i) => `gw${i + 1}`);
    this.common = {
      backends, limits: this.limits, tokenSecret: this.secrets.tokenSecret, adminToken: this.adminToken,
      bugs: [...(this.options.bugs ?? [])], seed: this.options.seed ?? 1, gatewayIds, faultEquipment: [...this.faultEquipment],
    };
    const host = this.options.host ?? '127.0.0.1';
    const basePort = this.options.port ?? 0;
    const gateways = await Promise.all(gatewayIds.map((id, i) => this.nodes.startNode({ ...this.common!, role: 'gateway', id, host, port: basePort === 0 ? 0 : basePort + 1 + i, metricsPort: 0 })));
    this.gatewayNodes.push(...gateways.map((g) => g.node));
    const gatewayUrls = gateways.map((g) => g.url!);
    this.gatewayUrls = gatewayUrls;
    const servers = await Promise.all(Array.from({ length: this.options.chatServers ?? CLUSTER_DEFAULTS.chatServers }, (_, slot) => this.startChatServer(slot)));
    this.chatServerNodes.push(...servers);
    const api = await this.nodes.startNode({ ...this.common, role: 'api', id: 'api', host, port: basePort, gatewayUrls, metricsTargets: this.nodes.nodeMetricsTargets(host) });
    this.api = api.node;
    this.log(`cluster up: ${gatewayIds.length} gateway and ${servers.length} chat server processes, Redis ${backends.redisUrl} prefix ${backends.redisPrefix}, Cassandra ${backends.cassandra} keyspace ${backends.keyspace}`);
    this.address = { httpUrl: api.url!, gatewayUrls };
    return this.address;
  }

  /**
   * Every node's metrics endpoint (Prometheus http_sd / file_sd format): each gateway and chat
   * server slot on a metrics port of its own, the API on its HTTP port. Labels `chatsim_node`
   * (gw1, cs1, api) and `chatsim_role`. Empty before start.
   */
  metricsTargets(): MetricsTarget[] {
    if (!this.address) return [];
    const api: MetricsTarget = { targets: [new URL(this.address.httpUrl).host], labels: { chatsim_node: 'api', chatsim_role: 'api' } };
    return [api, ...this.nodes.nodeMetricsTargets(this.options.host ?? '127.0.0.1')];
  }

  /** The nodes' process ids, by name (gw1, cs1.1, api): for tests and operators. */
  pids(): Record<string, number | undefined> {
    const all = [...this.gatewayNodes, ...this.chatServerNodes, ...(this.api ? [this.api] : [])];
    return Object.fromEntries(all.map((n) => [n.name, n.child.pid]));
  }

  async restartChatServers(options: { crash?: boolean } = {}): Promise<number> {
    for (let slot = 0; slot < this.chatServerNodes.length; slot++) {
      await this.replaceChatServer(slot, options.crash ? 'kill' : 'stop');
    }
    return this.chatServerNodes.length;
  }

  async killChatServer(index: number): Promise<void> {
    this.at(this.chatServerNodes, index, 'chat server');
    await this.replaceChatServer(index, 'kill');
  }

  /**
   * Ends the slot's process and starts a new one in it. Replacements of one slot take turns (a
   * graceful restart still draining when the next fault kills the slot), so a slot never ends up
   * with two processes or an orphan nobody stops.
   */
  private replaceChatServer(slot: number, how: 'kill' | 'stop'): Promise<void> {
    const previous = this.slotTurns.get(slot) ?? Promise.resolve();
    const turn = previous.then(async () => {
      if (this.stopping) return;
      const node = this.chatServerNodes[slot]!;
      await (how === 'kill' ? this.kill(node) : this.stopNode(node));
      if (this.stopping) return;
      this.chatServerNodes[slot] = await this.startChatServer(slot);
    });
    this.slotTurns.set(slot, turn.catch(() => undefined));
    return turn;
  }

  async crashGateway(index: number): Promise<void> {
    await this.gatewayTurn(index, () => this.kill(this.at(this.gatewayNodes, index, 'gateway')));
  }

  /** A graceful stop of the gateway's process: 1001 GOING_AWAY to every connection, then it exits. */
  async drainGateway(index: number): Promise<void> {
    await this.gatewayTurn(index, () => this.stopNode(this.at(this.gatewayNodes, index, 'gateway')));
  }

  /**
   * Starts a new process for the gateway slot on the port the first one listened on, with the
   * same id and a new boot id, as a supervisor restarting a dead or drained gateway. A process
   * still running in the slot is killed first.
   */
  async reviveGateway(index: number): Promise<void> {
    await this.gatewayTurn(index, async () => {
      const old = this.at(this.gatewayNodes, index, 'gateway');
      if (this.stopping) return;
      if (!old.stopped) await this.kill(old);
      const spec = old.spec as Extract<NodeSpec, { role: 'gateway' }>;
      const life = (this.gatewayLives.get(index) ?? 0) + 1;
      this.gatewayLives.set(index, life);
      const port = Number(new URL(this.gatewayUrls[index]!).port);
      const started = await this.nodes.startNode({ ...this.common!, role: 'gateway', id: spec.id, host: spec.host, port, bootId: `r${life}`, metricsPort: 0 });
      this.gatewayNodes[index] = started.node;
    });
  }

  private gatewayTurn(index: number, work: () => Promise<void>): Promise<void> {
    const turn = (this.gatewayTurns.get(index) ?? Promise.resolve()).then(work);
    this.gatewayTurns.set(index, turn.catch(() => undefined));
    return turn;
  }

  /**
   * Opens the window on every node that answers (each applies it to the ports it has: a gateway
   * has no message store); a node started during the window does not get it. The end function
   * is always returned, so no window outlives the fault.
   */
  async openBackendFault(fault: BackendFaultWindow): Promise<() => Promise<void>> {
    assertEquipped(this.faultEquipment, equipmentOf(fault));
    const window = ++this.nextLossWindow;
    const nodes = [...this.nodes.live].filter((n) => !n.stopped && !n.expectedExit);
    await Promise.allSettled(nodes.map((node) => this.request(node, { type: 'start-fault-window', window, fault })));
    return async () => {
      await Promise.allSettled(nodes.filter((n) => !n.stopped).map((node) => this.request(node, { type: 'end-fault-window', window })));
    };
  }

  /** Every node moves to the next presence generation (the store came back empty); nodes started later start there. */
  async restartPresenceStore(): Promise<() => Promise<void>> {
    assertEquipped(this.faultEquipment, 'presence-restart');
    const generation = (this.common!.presenceGeneration ?? 0) + 1;
    this.common!.presenceGeneration = generation;
    return this.openBackendFault({ kind: 'presence-store-down', generation });
  }

  pauseGateway(index: number): void {
    this.signal(this.at(this.gatewayNodes, index, 'gateway'), 'SIGSTOP');
  }

  resumeGateway(index: number): void {
    this.signal(this.at(this.gatewayNodes, index, 'gateway'), 'SIGCONT');
  }

  async partitionGateway(index: number): Promise<void> {
    await this.request(this.at(this.gatewayNodes, index, 'gateway'), { type: 'partition' });
  }

  async healGatewayPartition(index: number): Promise<void> {
    await this.request(this.at(this.gatewayNodes, index, 'gateway'), { type: 'heal-partition' });
  }

  pauseChatServer(index: number): void {
    this.signal(this.at(this.chatServerNodes, index, 'chat server'), 'SIGSTOP');
  }

  resumeChatServer(index: number): void {
    this.signal(this.at(this.chatServerNodes, index, 'chat server'), 'SIGCONT');
  }

  /**
   * Opens the window in every publisher that answers; a node that dies or is stopped meanwhile
   * is skipped (its replacement starts without loss). The end function is always returned, so
   * no window outlives the fault.
   */
  async loseBrokerMessages(share: number): Promise<() => Promise<void>> {
    if (!(share > 0 && share <= 1)) throw new Error(`loss share must be in (0, 1], got ${share}`);
    assertEquipped(this.faultEquipment, 'broker-loss');
    const window = ++this.nextLossWindow;
    const publishers = this.publishers();
    await Promise.allSettled(publishers.map((node) => this.request(node, { type: 'start-loss', share, window })));
    return async () => {
      await Promise.allSettled(publishers.filter((n) => !n.stopped).map((node) => this.request(node, { type: 'end-loss', window })));
    };
  }

  /** Summed over the publishers running now (a killed node's counts go with it). */
  async brokerLossStats(): Promise<BrokerLossStats> {
    const replies = await Promise.allSettled(this.publishers().map((node) => this.request(node, { type: 'loss-stats' })));
    const total = { dropped: 0, passedDuringLoss: 0 };
    for (const settled of replies) {
      const reply = settled.status === 'fulfilled' ? settled.value : undefined;
      if (reply?.type === 'reply' && reply.ok && reply.stats) {
        total.dropped += reply.stats.dropped;
        total.passedDuringLoss += reply.stats.passedDuringLoss;
      }
    }
    return total;
  }

  async messageStore(): Promise<MessageStore> {
    const config = this.provisioned?.config;
    if (!config) throw new Error('the cluster is not started');
    if (!this.store) {
      const opened = await openBackends(config, this.options.time, ['store']);
      // Read as the nodes read it: through the run's store bugs (a no-dedupe copy shows the client's id).
      this.store = { store: new ServerBugEquipment(this.options.bugs ?? []).store(opened.backends.store!), close: opened.close };
    }
    return this.store.store;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // The API first (no new logins), then the chat servers (frames under way finish), then the gateways.
    await Promise.all([...this.gatewayTurns.values()]);
    if (this.api) await this.stopNode(this.api);
    await Promise.all(this.chatServerNodes.map((n) => this.stopNode(n)));
    await Promise.all(this.gatewayNodes.map((n) => this.stopNode(n)));
    // A node started while the stop was under way (a slot replacement in flight) ends too.
    await Promise.all([...this.slotTurns.values()]);
    await Promise.all([...this.nodes.live].map((n) => this.stopNode(n)));
    await this.store?.close();
    await this.provisioned?.cleanup();
  }

  private publishers(): NodeHandle[] {
    return [...this.chatServerNodes, ...(this.api ? [this.api] : [])].filter((n) => !n.stopped && !n.expectedExit);
  }

  private startChatServer(slot: number): Promise<NodeHandle> {
    const id = `cs${slot + 1}.${++this.generation}`;
    const clockOffsetMs = this.clockOffsetOf(slot);
    return this.nodes.startNode({ ...this.common!, role: 'chat-server', id, slot, host: this.options.host ?? '127.0.0.1', metricsPort: 0, ...(clockOffsetMs !== 0 ? { clockOffsetMs } : {}) }).then((started) => started.node);
  }

  /** Slot -> how far its wall clock is off now: the start offset plus every step (a replacement starts with it). */
  private readonly clockSteps = new Map<number, number>();

  private clockOffsetOf(slot: number): number {
    return (this.options.chatServerClockOffsetsMs?.[slot] ?? 0) + (this.clockSteps.get(slot) ?? 0);
  }

  /**
   * The wall clock of chat server slot `slot` (every slot when undefined) steps by byMs: the
   * running node's clock at once (IPC), and every later node of the slot starts with it. (A node
   * starting at the very moment of the step may miss it.)
   */
  async stepChatServerClock(slot: number | undefined, byMs: number): Promise<void> {
    const slots = slot === undefined ? this.chatServerNodes.map((_, i) => i) : [slot];
    for (const s of slots) this.clockSteps.set(s, (this.clockSteps.get(s) ?? 0) + byMs);
    await Promise.allSettled(slots.map((s) => this.chatServerNodes[s]).filter((n): n is NodeHandle => n !== undefined && !n.stopped && !n.expectedExit)
      .map((node) => this.request(node, { type: 'clock-step', byMs })));
  }

  /**
   * Starts a new process in the slot of a node that died on its own: a gateway keeps its id and
   * port (phones reconnect to the URL they know), a chat server slot gets the next generation,
   * the API keeps its port. A start that fails is tried again, up to NODE_RESTART_ATTEMPTS_MAX
   * times in a row, RESTART_DELAY_MS apart (a port still held, Redis away for a moment).
   */
  private restartDeadNode(dead: NodeHandle, attempt = 1): void {
    const gatewayIndex = this.gatewayNodes.indexOf(dead);
    const chatSlot = this.chatServerNodes.indexOf(dead);
    if (chatSlot >= 0) {
      this.replaceChatServer(chatSlot, 'kill').catch((error: Error) => this.log(`restart of ${dead.name} failed: ${error.message}`));
      return;
    }
    const old = dead.spec;
    if ((gatewayIndex < 0 && dead !== this.api) || old.role === 'chat-server') return; // replaced meanwhile
    const port = portOf(gatewayIndex >= 0 ? this.address?.gatewayUrls : this.address?.httpUrl, gatewayIndex) ?? old.port;
    const spec: NodeSpec = { ...old, port };
    this.options.time.schedule(RESTART_DELAY_MS, () => {
      if (this.stopping) return;
      this.nodes.startNode(spec).then(({ node }) => {
        if (this.stopping) return void this.stopNode(node);
        if (gatewayIndex >= 0) this.gatewayNodes[gatewayIndex] = node;
        else this.api = node;
        this.log(`node ${node.name} restarted on port ${port} (pid ${node.child.pid})`);
      }, (error: Error) => {
        this.log(`restart of ${dead.name} failed (attempt ${attempt}): ${error.message}`);
        if (attempt < NODE_RESTART_ATTEMPTS_MAX) this.restartDeadNode(dead, attempt + 1);
      });
    });
  }

  private onMessage(node: NodeHandle, message: NodeMessage): void {
    if (message.type === 'restart-chat-servers') {
      // Always answered (the admin HTTP request waits on it), with -1 when the restart failed.
      void this.restartChatServers().then(
        (restarted) => restarted,
        (error: Error) => { this.log(`restart of the chat servers failed: ${error.message}`); return -1; },
      ).then((restarted) => {
        const reply: SupervisorReply = { type: 'supervisor-reply', rpc: message.rpc, restarted };
        if (node.child.connected) node.child.send(reply, () => undefined);
      });
    }
  }

  private request(node: NodeHandle, body: NodeRequestBody): Promise<NodeMessage> {
    return this.nodes.request(node, body);
  }

  private signal(node: NodeHandle, signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.nodes.signal(node, signal);
  }

  private kill(node: NodeHandle): Promise<void> {
    return this.nodes.kill(node);
  }

  private stopNode(node: NodeHandle): Promise<void> {
    return this.nodes.stopNode(node);
  }

  private at(nodes: NodeHandle[], index: number, what: string): NodeHandle {
    const node = nodes[index];
    if (!node) throw new Error(`no ${what} ${index}`);
    return node;
  }
}

/** The port of the gateway `index` (from the URL list) or of the API (from its URL). */
function portOf(urls: string | string[] | undefined, index: number): number | undefined {
  const url = Array.isArray(urls) ? urls[index] : urls;
  if (url === undefined) return undefined;
  const port = Number(new URL(url).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}
