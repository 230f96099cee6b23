import { assembleChatServer } from '../assembly/assembleChatServer.ts';
import { assembleGateway } from '../assembly/assembleGateway.ts';
import { assemblePresenceService } from '../assembly/assemblePresenceService.ts';
import { wrapPorts, type WrappedPorts } from '../assembly/wrapPorts.ts';
import { TokenService } from '../auth/TokenService.ts';
import { openBackends, type OpenedBackends } from '../backends/openBackends.ts';
import { ServerBugEquipment } from '../bugs/serverBugEquipment.ts';
import type { LossyBroker } from '../faults/LossyBroker.ts';
import { openFaultWindow, type FaultWrappers } from '../faults/BackendFaultWindow.ts';
import { OffsetClock } from '../faults/OffsetClock.ts';
import { GATEWAY_DRAIN_WAIT_MS } from '../gateway/Gateway.ts';
import { WsGatewayListener } from '../gateway/WsGatewayListener.ts';
import { createHttpApi } from '../http/createHttpApi.ts';
import { SeededRandom } from '../memory/SeededRandom.ts';
import { hostPort, listenMetrics } from '../metrics/metricsListener.ts';
import { PromMetrics } from '../metrics/PromMetrics.ts';
import type { TimeSource } from '../ports/Clock.ts';
import { createStderrLog } from '../runtime/stderrLog.ts';
import { createSystemTime } from '../runtime/systemTime.ts';
import { NODE_SPEC_ENV, type NodeMessage, type NodeRequest, type NodeSpec, type SupervisorReply } from './nodeProtocol.ts';

/** What a running node can be asked to do; every role answers stop, some the rest. */
interface RunningNode {
  url?: string;
  /** Where this node's GET /metrics listens (gateways and chat servers; the API serves it on its own port). */
  metricsPort?: number;
  stop(): Promise<void>;
  partition?(): Promise<void>;
  healPartition?(): Promise<void>;
  broker?: LossyBroker;
  /** The node's fault wrappers (backend fault windows open on them). */
  faults: FaultWrappers;
  /** A chat server's wall clock (clock-step moves it). */
  clock?: OffsetClock;
}

/**
 * The body of one node process: reads its spec, opens the backends it needs, assembles its
 * part from the same classes the in-process Cluster uses, and answers the supervisor's
 * requests over the IPC channel. It exits when the supervisor goes away (the channel
 * closes), so a killed harness leaves no node behind.
 */
export async function runNode(): Promise<void> {
  const send = (message: NodeMessage): void => { process.send?.(message); };
  const raw = process.env[NODE_SPEC_ENV];
  if (!raw || !process.send) {
    console.error(`runNode: needs ${NODE_SPEC_ENV} and an IPC channel (start it through ProcessCluster)`);
    process.exit(64);
  }
  const spec = JSON.parse(raw) as NodeSpec;
  // The spec carries the cluster's secrets: nothing this process starts inherits them.
  delete process.env[NODE_SPEC_ENV];
  const time = createSystemTime();
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C in a terminal signals the whole process group: the supervisor decides how nodes stop.
  process.on('SIGINT', () => undefined);
  let node: RunningNode;
  try {
    node = await assemble(spec, time, send);
  } catch (error) {
    // Exit once the message is out: exiting at once often drops it, and the supervisor would
    // only learn the exit code.
    const message: NodeMessage = { type: 'failed', message: `${spec.role} ${spec.id}: ${(error as Error).message}` };
    process.send(message, undefined, {}, () => process.exit(3));
    return;
  }
  const windows = new Map<number, () => void>();
  const faultWindows = new Map<number, () => void>();
  process.on('message', (message: NodeRequest | SupervisorReply) => {
    if (message.type === 'supervisor-reply') return; // handled where it was asked
    void answer(node, message, windows, faultWindows).then(
      (stats) => send({ type: 'reply', rpc: message.rpc, ok: true, ...(stats ? { stats } : {}) }),
      (error: Error) => send({ type: 'reply', rpc: message.rpc, ok: false, message: error.message }),
    ).then(() => {
      if (message.type === 'stop') process.exit(0);
    });
  });
  process.once('SIGTERM', () => void node.stop().finally(() => process.exit(0)));
  send({ type: 'ready', ...(node.url ? { url: node.url } : {}), ...(node.metricsPort !== undefined ? { metricsPort: node.metricsPort } : {}) });
}

async function answer(node: RunningNode, request: NodeRequest, windows: Map<number, () => void>, faultWindows: Map<number, () => void>): Promise<{ dropped: number; passedDuringLoss: number } | undefined> {
  switch (request.type) {
    case 'stop':
      await node.stop();
      return undefined;
    case 'partition':
      await required(node.partition, 'partition')();
      return undefined;
    case 'heal-partition':
      await required(node.healPartition, 'heal-partition')();
      return undefined;
    case 'start-loss':
      windows.set(request.window, required(node.broker, 'start-loss').startLoss(request.share));
      return undefined;
    case 'end-loss':
      windows.get(request.window)?.();
      windows.delete(request.window);
      return undefined;
    case 'loss-stats':
      return { ...required(node.broker, 'loss-stats').stats };
    case 'start-fault-window':
      faultWindows.set(request.window, openFaultWindow(node.faults, request.fault));
      return undefined;
    case 'clock-step':
      required(node.clock, 'clock-step').step(request.byMs);
      return undefined;
    case 'end-fault-window':
      faultWindows.get(request.window)?.();
      faultWindows.delete(request.window);
      return undefined;
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`this node does not do ${what}`);
  return value;
}

async function assemble(spec: NodeSpec, time: TimeSource, send: (message: NodeMessage) => void): Promise<RunningNode> {
  const equipment = new ServerBugEquipment(spec.bugs);
  const random = new SeededRandom(spec.seed).fork(`${spec.role}:${spec.id}`);
  const metrics = new PromMetrics();
  const exposition = (accept: string): ReturnType<PromMetrics['exposition']> => metrics.exposition(accept);
  // The fault wrappers the run's faults need; a pause is a SIGSTOP of the whole process, so no node has a pause wrapper.
  const needs = new Set(spec.faultEquipment ?? []);
  const wrap = (opened: OpenedBackends): WrappedPorts => wrapPorts(opened.backends, { time, random, metrics, equipment, needs, presenceGeneration: spec.presenceGeneration ?? 0 });
  switch (spec.role) {
    case 'gateway': {
      const opened = await openBackends(spec.backends, time, ['broker', 'queue', 'presence', 'directory']);
      const { queue, directory } = opened.backends;
      const { broker, presence, faults } = wrap(opened);
      const { gateway } = assembleGateway({ id: spec.id, bootId: spec.bootId, time, limits: spec.limits, metrics, ports: { broker: broker!, queue: queue!, presence: presence! }, equipment });
      await gateway.start();
      const listener = new WsGatewayListener({
        gateway, tokens: new TokenService(spec.tokenSecret, time, spec.limits.tokenTtlMs), directory: directory!, presence: presence!, limits: spec.limits,
      });
      const port = await listener.listen(spec.port, spec.host);
      const metricsListener = await listenMetrics(exposition, spec.adminToken, spec.host, spec.metricsPort);
      return {
        url: `ws://${spec.host}:${port}`, faults, metricsPort: metricsListener.port,
        stop: async () => {
          await metricsListener.close();
          await gateway.stop();
          // Closing handshakes (1001) finish before the port closes; a phone that never answers does not hold it.
          for (let waited = 0; gateway.connectionCount() > 0 && waited < GATEWAY_DRAIN_WAIT_MS; waited += 50) await new Promise<void>((resolve) => { time.schedule(50, resolve); });
          await listener.close();
          await opened.close();
        },
        partition: () => gateway.partition(),
        healPartition: () => gateway.healPartition(),
      };
    }
    case 'chat-server': {
      const opened = await openBackends(spec.backends, time, ['broker', 'queue', 'presence', 'directory', 'store']);
      const { queue, directory } = opened.backends;
      const { broker, store, presence, faults } = wrap(opened);
      // The machine's wall clock as the scenario has it (skewed, stepped by clock-step); timers stay on `time`.
      const clock = new OffsetClock(time, spec.clockOffsetMs ?? 0);
      const assembled = assembleChatServer({
        id: spec.id, clock, timers: time, limits: spec.limits, metrics, log: createStderrLog(`chat-server ${spec.id}`),
        ports: { queue: queue!, broker: broker!, store: store!, directory: directory!, presence: presence! }, equipment, gatewayIds: () => spec.gatewayIds,
      });
      const metricsListener = await listenMetrics(exposition, spec.adminToken, spec.host, spec.metricsPort);
      assembled.server.start();
      return {
        broker: faults.loss, faults, clock, metricsPort: metricsListener.port,
        stop: async () => { await metricsListener.close(); await assembled.stop(); await opened.close(); },
      };
    }
    case 'api': {
      const opened = await openBackends(spec.backends, time, ['broker', 'presence', 'directory', 'store']);
      const { directory } = opened.backends;
      const { broker, store, presence, faults } = wrap(opened);
      const presenceService = assemblePresenceService({ time, limits: spec.limits, metrics, ports: { broker: broker!, presence: presence!, directory: directory! }, equipment });
      await presenceService.start();
      const restartChatServers = askSupervisorToRestart(send);
      const http = createHttpApi({
        time, random: random.fork('http'), directory: directory!, store: store!,
        tokens: new TokenService(spec.tokenSecret, time, spec.limits.tokenTtlMs), limits: spec.limits,
        gatewayUrls: () => spec.gatewayUrls, admin: { token: spec.adminToken, restartChatServers },
        log: createStderrLog(`api ${spec.id}`), metrics,
        observability: { exposition, targets: () => [{ targets: [`${hostPort(spec.host, port)}`], labels: { chatsim_node: spec.id, chatsim_role: 'api' } }, ...spec.metricsTargets] },
      });
      const port = await http.listen(spec.port, spec.host);
      return {
        url: `http://${spec.host}:${port}`, broker: faults.loss, faults,
        stop: async () => { await http.close(); await presenceService.stop(); await opened.close(); },
      };
    }
  }
}

/** The admin endpoint's restart, which only the supervisor can do (it owns the chat server processes). */
function askSupervisorToRestart(send: (message: NodeMessage) => void): () => Promise<number> {
  let nextRpc = 0;
  return () => new Promise<number>((resolve, reject) => {
    const rpc = ++nextRpc;
    const onReply = (message: NodeRequest | SupervisorReply): void => {
      if (message.type !== 'supervisor-reply' || message.rpc !== rpc) return;
      process.off('message', onReply);
      if (message.restarted < 0) reject(new Error('the supervisor could not restart the chat servers'));
      else resolve(message.restarted);
    };
    process.on('message', onReply);
    send({ type: 'restart-chat-servers', rpc });
  });
}
