import { TokenService } from '../auth/TokenService.ts';
import { openBackends, type OpenedBackends } from '../backends/openBackends.ts';
import { isBugName, type BugSet } from '../bugs/BugCatalogue.ts';
import { ChatServer } from '../chat/ChatServer.ts';
import { LossyBroker } from '../faults/LossyBroker.ts';
import { Gateway } from '../gateway/Gateway.ts';
import { WsGatewayListener } from '../gateway/WsGatewayListener.ts';
import { createHttpApi } from '../http/createHttpApi.ts';
import { SeededRandom } from '../memory/SeededRandom.ts';
import type { TimeSource } from '../ports/Clock.ts';
import { PresenceService } from '../presence/PresenceService.ts';
import { createStderrLog } from '../runtime/stderrLog.ts';
import { createSystemTime } from '../runtime/systemTime.ts';
import { NODE_SPEC_ENV, type NodeMessage, type NodeRequest, type NodeSpec, type SupervisorReply } from './nodeProtocol.ts';

/** What a running node can be asked to do; every role answers stop, some the rest. */
interface RunningNode {
  url?: string;
  stop(): Promise<void>;
  partition?(): Promise<void>;
  healPartition?(): Promise<void>;
  broker?: LossyBroker;
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
  process.on('message', (message: NodeRequest | SupervisorReply) => {
    if (message.type === 'supervisor-reply') return; // handled where it was asked
    void answer(node, message, windows).then(
      (stats) => send({ type: 'reply', rpc: message.rpc, ok: true, ...(stats ? { stats } : {}) }),
      (error: Error) => send({ type: 'reply', rpc: message.rpc, ok: false, message: error.message }),
    ).then(() => {
      if (message.type === 'stop') process.exit(0);
    });
  });
  process.once('SIGTERM', () => void node.stop().finally(() => process.exit(0)));
  send({ type: 'ready', ...(node.url ? { url: node.url } : {}) });
}

async function answer(node: RunningNode, request: NodeRequest, windows: Map<number, () => void>): Promise<{ dropped: number; passedDuringLoss: number } | undefined> {
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
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`this node does not do ${what}`);
  return value;
}

async function assemble(spec: NodeSpec, time: TimeSource, send: (message: NodeMessage) => void): Promise<RunningNode> {
  const bugs: BugSet = new Set(spec.bugs.filter(isBugName));
  const random = new SeededRandom(spec.seed).fork(`${spec.role}:${spec.id}`);
  switch (spec.role) {
    case 'gateway': {
      const opened = await openBackends(spec.backends, time, ['broker', 'queue', 'presence', 'directory']);
      const { broker, queue, presence, directory } = opened.backends;
      const gateway = new Gateway({ id: spec.id, time, broker: broker!, queue: queue!, presence: presence!, limits: spec.limits, bugs });
      await gateway.start();
      const listener = new WsGatewayListener({
        gateway, tokens: new TokenService(spec.tokenSecret, time, spec.limits.tokenTtlMs), directory: directory!, presence: presence!, limits: spec.limits,
      });
      const port = await listener.listen(spec.port, spec.host);
      return {
        url: `ws://${spec.host}:${port}`,
        stop: async () => { await gateway.stop(); await listener.close(); await closeBackends(opened); },
        partition: () => gateway.partition(),
        healPartition: () => gateway.healPartition(),
      };
    }
    case 'chat-server': {
      const opened = await openBackends(spec.backends, time, ['broker', 'queue', 'presence', 'directory', 'store']);
      const { queue, store, directory, presence } = opened.backends;
      const broker = new LossyBroker(opened.backends.broker!, random.fork('broker-loss'));
      const server = new ChatServer({
        id: spec.id, clock: time, timers: time, queue: queue!, broker, store: store!, directory: directory!, presence: presence!,
        limits: spec.limits, bugs, gatewayIds: () => spec.gatewayIds, log: createStderrLog(`chat-server ${spec.id}`),
      });
      server.start();
      return { broker, stop: async () => { await server.stop(); await closeBackends(opened); } };
    }
    case 'api': {
      const opened = await openBackends(spec.backends, time, ['broker', 'presence', 'directory', 'store']);
      const { presence, directory, store } = opened.backends;
      const broker = new LossyBroker(opened.backends.broker!, random.fork('broker-loss'));
      const presenceService = new PresenceService({ time, broker, presence: presence!, directory: directory!, limits: spec.limits, bugs });
      await presenceService.start();
      const restartChatServers = askSupervisorToRestart(send);
      const http = createHttpApi({
        time, random: random.fork('http'), directory: directory!, store: store!,
        tokens: new TokenService(spec.tokenSecret, time, spec.limits.tokenTtlMs), limits: spec.limits,
        gatewayUrls: () => spec.gatewayUrls, admin: { token: spec.adminToken, restartChatServers },
        log: createStderrLog(`api ${spec.id}`),
      });
      const port = await http.listen(spec.port, spec.host);
      return {
        url: `http://${spec.host}:${port}`, broker,
        stop: async () => { await http.close(); await presenceService.stop(); await closeBackends(opened); },
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

async function closeBackends(opened: OpenedBackends): Promise<void> {
  const { broker, queue } = opened.backends;
  for (const port of [broker, queue]) {
    const closable = port as unknown as { close?: () => Promise<void> };
    await closable?.close?.().catch(() => undefined);
  }
  await opened.close();
}
