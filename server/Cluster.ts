import { NO_BUGS, type BugSet } from './bugs/BugCatalogue.ts';
import { ServerBugEquipment } from './bugs/serverBugEquipment.ts';
import type { ClusterAddress, ClusterControl } from './ClusterControl.ts';
import { NO_METRICS, type Metrics, type MetricsExposition, type MetricsTarget } from './ports/Metrics.ts';
import { PromMetrics } from './metrics/PromMetrics.ts';
import type { MessageStore } from './ports/MessageStore.ts';
import type { Random } from './ports/Random.ts';
import { TokenService } from './auth/TokenService.ts';
import { clusterSecrets } from './auth/clusterSecrets.ts';
import { assembleChatServer, type AssembledChatServer } from './assembly/assembleChatServer.ts';
import { assembleGateway, type AssembledGateway } from './assembly/assembleGateway.ts';
import { assemblePresenceService } from './assembly/assemblePresenceService.ts';
import type { PresenceService } from './presence/PresenceService.ts';
import { wrapPorts } from './assembly/wrapPorts.ts';
import type { ChatServer } from './chat/ChatServer.ts';
import type { EndLoss } from './faults/LossyBroker.ts';
import type { ChatServerPause } from './faults/ChatServerPause.ts';
import { equipped } from './faults/FaultEquipment.ts';
import { openFaultWindow, type BackendFaultWindow, type FaultWrappers } from './faults/BackendFaultWindow.ts';
import type { EndWindow } from './faults/FaultWindows.ts';
import { GATEWAY_DRAIN_WAIT_MS, type Gateway } from './gateway/Gateway.ts';
import type { GatewayListener, GatewayListenerFactory } from './gateway/GatewayListener.ts';
import { WsGatewayListener } from './gateway/WsGatewayListener.ts';
import { createHttpApi, type HttpApi } from './http/createHttpApi.ts';
import { MemoryBroker } from './memory/MemoryBroker.ts';
import { MemoryDirectory } from './memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from './memory/MemoryInboundQueue.ts';
import { MemoryMessageStore } from './memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from './memory/MemoryPresenceStore.ts';
import { SeededRandom } from './memory/SeededRandom.ts';
import { resolveLimits, type ServerLimits } from './protocol/limits.ts';

import type { ClusterBackends, ClusterOptions } from './ClusterOptions.ts';
import { CLUSTER_DEFAULTS } from './clusterDefaults.ts';

export type { ClusterBackends, ClusterOptions } from './ClusterOptions.ts';

const GATEWAY_DRAIN_POLL_MS = 50;

const wsListeners: GatewayListenerFactory = (deps) => {
  const listener = new WsGatewayListener({ ...deps, ...(deps.log ? { log: deps.log } : {}) });
  return {
    listen: async (port, host) => `ws://${host}:${await listener.listen(port, host)}`,
    close: () => listener.close(),
  };
};


export type { ClusterAddress } from './ClusterControl.ts';

/**
 * A whole reference cluster in one process: N gateways (each its own WebSocket port), M chat
 * servers, the presence service and the HTTP API, sharing one set of backends. The parts
 * only meet through the ports, exactly as separate processes would.
 */
export class Cluster implements ClusterControl {
  readonly limits: ServerLimits;
  readonly backends: ClusterBackends;
  readonly tokens: TokenService;
  readonly gateways: Gateway[] = [];
  readonly chatServers: ChatServer[] = [];
  readonly presenceService: PresenceService;
  readonly adminToken: string;
  readonly bugs: BugSet;
  private readonly equipment: ServerBugEquipment;
  /** How each chat server of the cluster stops (its bugs' memory goes with it: see assembleChatServer). */
  private readonly chatServerStops = new Map<ChatServer, AssembledChatServer['stop']>();
  /** Where each chat server pauses, when the run has pause-chat-server (kept after it stops: a late resume is a no-op). */
  private readonly chatServerPauses = new WeakMap<ChatServer, ChatServerPause>();
  /** The gateway of each slot as assembled: how it stops, crashes and pauses (see assembleGateway). */
  private readonly assembledGateways: AssembledGateway[] = [];
  /** The registry every part records into (NO_METRICS when metrics are off). */
  readonly metrics: Metrics;
  private readonly exposition: ((accept: string) => Promise<MetricsExposition>) | undefined;
  private readonly listeners: GatewayListener[] = [];
  readonly http: HttpApi;
  private chatServerGeneration = 0;
  /** The last replacement of each chat server slot (see replaceChatServer). */
  private readonly slotTurns = new Map<number, Promise<void>>();
  private stopping = false;
  private address: ClusterAddress | undefined;
  /** The fault wrappers around the backends (server/faults/), where fault windows open: those the run's faults need. */
  private readonly faults: FaultWrappers;
  private readonly random: Random;
  /** How many times each gateway slot came back (its next life's boot id). */
  private readonly gatewayLives = new Map<number, number>();
  /** The last stop or revival of each gateway slot (they take turns, as chat server slots do). */
  private readonly gatewayTurns = new Map<number, Promise<void>>();

  constructor(private readonly options: ClusterOptions) {
    const time = options.time;
    const bugs = options.bugs ?? NO_BUGS;
    this.bugs = bugs;
    this.equipment = new ServerBugEquipment(bugs);
    this.limits = resolveLimits(options.limits);
    this.random = options.random ?? new SeededRandom(1);
    const metrics = options.metrics === false ? undefined : options.metrics ?? (options.http === 'in-process' ? undefined : new PromMetrics());
    this.metrics = metrics ?? NO_METRICS;
    this.exposition = metrics?.exposition ? (accept) => metrics.exposition!(accept) : undefined;
    // The fault wrappers the run's faults need (options.faultEquipment), passing everything
    // through until a fault opens a window (lose-broker-messages, store-outage, ...: server/faults/).
    const wrapped = wrapPorts({
      broker: options.backends?.broker ?? new MemoryBroker(),
      store: options.backends?.store ?? new MemoryMessageStore(),
      presence: options.backends?.presence ?? new MemoryPresenceStore(time),
    }, { time, random: this.random, metrics, equipment: this.equipment, needs: new Set(options.faultEquipment ?? []) });
    this.faults = wrapped.faults;
    const made: ClusterBackends = {
      broker: wrapped.broker!,
      queue: options.backends?.queue ?? new MemoryInboundQueue({ timers: time }),
      presence: wrapped.presence!,
      store: wrapped.store!,
      directory: options.backends?.directory ?? new MemoryDirectory(),
    };
    this.backends = options.decorateBackends ? options.decorateBackends(made) : made;
    const secrets = clusterSecrets({ tokenSecret: options.tokenSecret, adminToken: options.adminToken });
    this.tokens = new TokenService(secrets.tokenSecret, time, this.limits.tokenTtlMs);
    this.adminToken = secrets.adminToken;
    for (let i = 0; i < (options.gateways ?? CLUSTER_DEFAULTS.gateways); i++) {
      const assembled = this.newGateway(i);
      this.assembledGateways.push(assembled);
      this.gateways.push(assembled.gateway);
      this.listeners.push(this.newListener(assembled));
    }
    for (let i = 0; i < (options.chatServers ?? CLUSTER_DEFAULTS.chatServers); i++) this.chatServers.push(this.newChatServer(i));
    const { broker, presence, directory } = this.backends;
    this.presenceService = assemblePresenceService({ time, limits: this.limits, metrics: this.metrics, ports: { broker, presence, directory }, equipment: this.equipment });
    this.http = createHttpApi({
      time, random: this.random, directory: this.backends.directory, store: this.backends.store,
      tokens: this.tokens, limits: this.limits, gatewayUrls: () => this.address?.gatewayUrls ?? [],
      admin: { token: this.adminToken, restartChatServers: () => this.restartChatServers() },
      ...(options.log ? { log: options.log } : {}),
      metrics: this.metrics,
      ...(this.exposition ? { observability: { exposition: this.exposition, targets: () => this.metricsTargets() } } : {}),
    });
  }

  async start(): Promise<ClusterAddress> {
    const host = this.options.host ?? '127.0.0.1';
    const basePort = this.options.port ?? 0;
    await this.presenceService.start();
    for (const gateway of this.gateways) await gateway.start();
    for (const server of this.chatServers) server.start();
    const gatewayUrls: string[] = [];
    for (let i = 0; i < this.listeners.length; i++) {
      gatewayUrls.push(await this.listeners[i]!.listen(basePort === 0 ? 0 : basePort + 1 + i, host));
    }
    const httpUrl = this.options.http === 'in-process' ? 'in-process:' : `http://${host}:${await this.http.listen(basePort, host)}`;
    this.address = { httpUrl, gatewayUrls };
    return this.address;
  }

  /**
   * Replaces every chat server with a new instance, one at a time, without touching any
   * WebSocket: frames that arrive meanwhile wait in the inbound queue.
   */
  async restartChatServers(options: { crash?: boolean } = {}): Promise<number> {
    const count = this.chatServers.length;
    for (let i = 0; i < count; i++) await this.replaceChatServer(i, { crash: options.crash ?? false });
    return count;
  }

  /**
   * The chat server in slot `index` crashes (its frames under way are handed out again) and a
   * new instance takes the slot, as a supervisor restarts a SIGKILLed process.
   */
  async killChatServer(index: number): Promise<void> {
    this.chatServerAt(index);
    await this.replaceChatServer(index, { crash: true });
  }

  /** Stops the slot's server and starts a new one; replacements of one slot take turns, so none is orphaned. */
  private replaceChatServer(index: number, options: { crash: boolean }): Promise<void> {
    const turn = (this.slotTurns.get(index) ?? Promise.resolve()).then(async () => {
      if (this.stopping) return;
      await this.stopChatServer(this.chatServers[index]!, options);
      if (this.stopping) return; // the cluster stopped meanwhile: no new server in the slot
      const replacement = this.newChatServer(index);
      this.chatServers[index] = replacement;
      replacement.start();
    });
    this.slotTurns.set(index, turn.catch(() => undefined));
    return turn;
  }

  async messageStore(): Promise<MessageStore> {
    return this.backends.store;
  }

  /**
   * Where a Prometheus scrapes this cluster: one target, the API's /metrics, which holds every
   * part (they share one registry). Empty before start, or without an exposition.
   */
  metricsTargets(): MetricsTarget[] {
    if (!this.exposition || !this.address || !this.address.httpUrl.startsWith('http')) return [];
    return [{ targets: [new URL(this.address.httpUrl).host], labels: { chatsim_node: 'cluster', chatsim_role: 'cluster' } }];
  }

  /**
   * A gateway process dies: its links drop without a closing handshake, its port stops
   * answering, and its presence entries are left to expire. Phones must reconnect elsewhere.
   */
  async crashGateway(index: number): Promise<void> {
    const assembled = this.assembledGatewayAt(index);
    await assembled.crash();
    await this.listeners[index]!.close();
  }

  /**
   * A graceful drain: the gateway closes every connection with 1001 GOING_AWAY (reconnect to
   * another gateway), unregisters their presence, stops and stops listening. `reviveGateway`
   * brings it back. Waits at most GATEWAY_DRAIN_WAIT_MS for the phones to finish the closing
   * handshakes before the port closes (a drain that waited for every slow phone could hang).
   */
  async drainGateway(index: number): Promise<void> {
    await this.gatewayTurn(index, async () => {
      const assembled = this.assembledGatewayAt(index);
      await assembled.stop();
      for (let waited = 0; assembled.gateway.connectionCount() > 0 && waited < GATEWAY_DRAIN_WAIT_MS; waited += GATEWAY_DRAIN_POLL_MS) {
        await new Promise<void>((resolve) => { this.options.time.schedule(GATEWAY_DRAIN_POLL_MS, resolve); });
      }
      await this.listeners[index]!.close();
    });
  }

  /**
   * A gateway that crashed or drained comes back: a new gateway with the same id (its broker
   * channel) and no state listens where the old one did, as a supervisor restarting the
   * process on the same port. Each life gets its own boot id, so connection ids never repeat.
   */
  /** The listener in front of a gateway: admission (token, directory, device limits) and the wire. */
  private newListener(assembled: AssembledGateway): GatewayListener {
    return (this.options.gatewayListeners ?? wsListeners)({
      gateway: assembled.entry, tokens: this.tokens, directory: this.backends.directory, presence: this.backends.presence, limits: this.limits,
      ...(this.options.log ? { log: this.options.log } : {}),
    });
  }

  async reviveGateway(index: number): Promise<void> {
    await this.gatewayTurn(index, async () => {
      this.gatewayAt(index);
      if (this.stopping) return;
      const life = (this.gatewayLives.get(index) ?? 0) + 1;
      this.gatewayLives.set(index, life);
      const assembled = this.newGateway(index, `r${life}`);
      const listener = this.newListener(assembled);
      await this.listeners[index]!.close(); // idempotent: a crash or drain closed it already
      this.assembledGateways[index] = assembled;
      this.gateways[index] = assembled.gateway;
      this.listeners[index] = listener;
      await assembled.gateway.start();
      const url = this.address?.gatewayUrls[index];
      const port = url === undefined ? 0 : Number(new URL(url).port || 0);
      await listener.listen(port, this.options.host ?? '127.0.0.1');
    });
  }

  private gatewayTurn(index: number, work: () => Promise<void>): Promise<void> {
    const turn = (this.gatewayTurns.get(index) ?? Promise.resolve()).then(work);
    this.gatewayTurns.set(index, turn.catch(() => undefined));
    return turn;
  }

  /**
   * Opens a window of a backend fault on the port wrappers (server/faults/) until the returned
   * function is called: the message store down or slow, broker payloads duplicated, reordered
   * or lost on one channel, the presence store refusing calls.
   */
  openBackendFault(window: BackendFaultWindow): EndWindow {
    return openFaultWindow(this.faults, window);
  }

  /** The presence store restarts empty (RestartablePresenceStore); its calls fail until the returned function is called. */
  restartPresenceStore(): EndWindow {
    const presence = equipped(this.faults.presence, 'presence-restart');
    return this.openBackendFault({ kind: 'presence-store-down', generation: presence.currentGeneration + 1 });
  }

  /** Freezes a gateway's process (see GatewayPause); `resumeGateway` lets it run again. Needs the `pause-gateway` equipment. */
  pauseGateway(index: number): void {
    equipped(this.assembledGatewayAt(index).pause, 'pause-gateway').pause();
  }

  resumeGateway(index: number): void {
    equipped(this.assembledGatewayAt(index).pause, 'pause-gateway').resume();
  }

  /** Cuts a gateway off from broker, queue and presence store (see Gateway.partition). */
  async partitionGateway(index: number): Promise<void> {
    await this.gatewayAt(index).partition();
  }

  async healGatewayPartition(index: number): Promise<void> {
    await this.gatewayAt(index).healPartition();
  }

  /**
   * Freezes the chat server in slot `index` (see ChatServerPause); `resumeChatServer` lets it
   * run again. A restart meanwhile replaces it with a running server, and the resume is a no-op.
   * Needs the `pause-chat-server` equipment.
   */
  pauseChatServer(index: number): void {
    this.chatServerPauseAt(index).pause();
  }

  resumeChatServer(index: number): void {
    this.chatServerPauseAt(index).resume();
  }

  /** Whether the chat server in slot `index` is paused now. */
  chatServerPaused(index: number): boolean {
    return this.chatServerPauses.get(this.chatServerAt(index))?.paused ?? false;
  }

  /**
   * Until the returned function is called, the broker drops each payload published with
   * probability `share` (see LossyBroker); windows may overlap (the largest share applies).
   */
  loseBrokerMessages(share: number): EndLoss {
    return equipped(this.faults.loss, 'broker-loss').startLoss(share);
  }

  /** Payloads the broker dropped so far, and those it let through while losing (none without the broker-loss equipment). */
  brokerLossStats(): { dropped: number; passedDuringLoss: number } {
    return { ...(this.faults.loss?.stats ?? { dropped: 0, passedDuringLoss: 0 }) };
  }

  private chatServerPauseAt(index: number): ChatServerPause {
    return equipped(this.chatServerPauses.get(this.chatServerAt(index)), 'pause-chat-server');
  }

  private assembledGatewayAt(index: number): AssembledGateway {
    const assembled = this.assembledGateways[index];
    if (!assembled) throw new Error(`no gateway ${index}`);
    return assembled;
  }

  private chatServerAt(index: number): ChatServer {
    const server = this.chatServers[index];
    if (!server) throw new Error(`no chat server ${index}`);
    return server;
  }

  private gatewayAt(index: number): Gateway {
    const gateway = this.gateways[index];
    if (!gateway) throw new Error(`no gateway ${index}`);
    return gateway;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.gatewayTurns.values()]);
    for (const assembled of this.assembledGateways) await assembled.stop();
    // A slot replacement under way finishes (or gives up) before the slot's server is stopped.
    await Promise.all([...this.slotTurns.values()]);
    for (const server of this.chatServers) await this.stopChatServer(server, {});
    await this.presenceService.stop();
    for (const listener of this.listeners) await listener.close();
    await this.http.close();
  }

  private newGateway(index: number, bootId?: string): AssembledGateway {
    const { broker, queue, presence } = this.backends;
    return assembleGateway({
      id: `gw${index + 1}`, bootId, time: this.options.time, limits: this.limits, metrics: this.metrics, ports: { broker, queue, presence }, equipment: this.equipment,
      pausable: this.faults.equipped.has('pause-gateway'),
    });
  }

  private newChatServer(index: number): ChatServer {
    const id = `cs${++this.chatServerGeneration}`;
    const clock = this.options.chatServerClock?.({ index, id }) ?? this.options.time;
    const assembled = assembleChatServer({
      id, clock, timers: this.options.time, limits: this.limits, metrics: this.metrics, log: this.options.log, ports: this.backends,
      equipment: this.equipment, gatewayIds: () => this.gateways.map((g) => g.id), pausable: this.faults.equipped.has('pause-chat-server'),
    });
    this.chatServerStops.set(assembled.server, assembled.stop);
    if (assembled.pause) this.chatServerPauses.set(assembled.server, assembled.pause);
    return assembled.server;
  }

  /** A chat server process ends, gracefully or not: what it held in memory goes with it. */
  private async stopChatServer(server: ChatServer, options: { crash?: boolean }): Promise<void> {
    const stop = this.chatServerStops.get(server);
    this.chatServerStops.delete(server);
    await (stop ? stop(options) : server.stop(options));
  }
}
