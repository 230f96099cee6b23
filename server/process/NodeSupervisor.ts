import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TimeSource } from '../ports/Clock.ts';
import type { MetricsTarget } from '../ports/Metrics.ts';
import { hostPort } from '../metrics/metricsListener.ts';
import { NODE_SPEC_ENV, type NodeMessage, type NodeRequest, type NodeSpec } from './nodeProtocol.ts';

const NODE_START_TIMEOUT_MS = 60_000;
const NODE_STOP_TIMEOUT_MS = 10_000;
const NODE_ENTRY = fileURLToPath(new URL('./clusterNodeEntry.mjs', import.meta.url));

export interface NodeHandle {
  name: string;
  spec: NodeSpec;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Set once the supervisor meant the node to end (a stop, a kill), so its exit is not reported as a crash. */
  expectedExit: boolean;
  stopped: boolean;
  log?: WriteStream;
}

export interface NodeSupervisorOptions {
  time: TimeSource;
  /** Each node's stdout and stderr go to `<logDir>/<node>.log`; without it, stderr is inherited and stdout dropped. */
  logDir?: string;
  /** How long a node may take to say it is ready, in ms (default 60,000). */
  nodeStartTimeoutMs?: number;
  /** How long a graceful stop may take before the node is killed, in ms (default 10,000). */
  nodeStopTimeoutMs?: number;
  /** One line per supervisor event. */
  log: (line: string) => void;
  /** Whether the whole cluster is stopping (no exit is then unexpected). */
  stopping: () => boolean;
  /** A node exited without the supervisor meaning it to (a crash from outside). */
  onUnexpectedExit: (node: NodeHandle) => void;
  /** A node's own request to the supervisor (`restart-chat-servers`). */
  onNodeRequest: (node: NodeHandle, message: NodeMessage) => void;
}

/**
 * The process side of ProcessCluster: forks node processes (server/process/clusterNodeEntry.mjs)
 * with their spec in the environment, waits for them to say they are ready, talks to them over
 * IPC (requests with numbered replies), and signals, kills and stops them. Which node runs in
 * which slot, and when one is restarted, is ProcessCluster's business.
 */
export class NodeSupervisor {
  /** Every node started and not yet exited, whatever slot it had: stop() ends them all. */
  readonly live = new Set<NodeHandle>();
  /**
   * The metrics port of each gateway and chat server slot (`gw1`, `cs1`), taken by its first
   * process (port 0: a free one) and kept by every later one, so the target list stays true.
   */
  readonly metricsPorts = new Map<string, number>();
  private readonly pending = new Map<number, { resolve: (m: NodeMessage) => void }>();
  private nextRpc = 0;

  constructor(private readonly options: NodeSupervisorOptions) {}

  /** Forks a node and resolves once it is ready (with its URL, for gateways and the API). */
  startNode(given: NodeSpec): Promise<{ node: NodeHandle; url?: string }> {
    // A slot keeps the metrics port its first process took (the target list names it).
    const slot = metricsSlot(given);
    const knownPort = slot === undefined ? undefined : this.metricsPorts.get(slot);
    const spec: NodeSpec = knownPort !== undefined && given.role !== 'api' ? { ...given, metricsPort: knownPort } : given;
    const node = this.spawn(spec);
    return new Promise((resolve, reject) => {
      const { child, name, exited } = node;
      const startTimeoutMs = this.options.nodeStartTimeoutMs ?? NODE_START_TIMEOUT_MS;
      const timeout = this.options.time.schedule(startTimeoutMs, () => {
        child.kill('SIGKILL');
        reject(new Error(`node ${name} did not start within ${startTimeoutMs} ms`));
      });
      const onStart = (message: NodeMessage): void => {
        if (message.type === 'ready') {
          child.off('message', onStart);
          timeout.cancel();
          if (slot !== undefined && message.metricsPort !== undefined) this.metricsPorts.set(slot, message.metricsPort);
          resolve({ node, ...(message.url ? { url: message.url } : {}) });
        } else if (message.type === 'failed') {
          child.off('message', onStart);
          timeout.cancel();
          reject(new Error(message.message));
        }
      };
      child.on('message', onStart);
      void exited.then((code) => {
        timeout.cancel();
        reject(new Error(`node ${name} exited with code ${code} before it was ready`));
      });
    });
  }

  /** Forks the node's process, its log piped to its file, and watches its exit and messages. */
  private spawn(spec: NodeSpec): NodeHandle {
    const name = spec.id;
    const log = this.options.logDir ? openLog(this.options.logDir, name) : undefined;
    const child = fork(NODE_ENTRY, [], {
      env: { ...process.env, [NODE_SPEC_ENV]: JSON.stringify(spec) },
      stdio: log ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    });
    if (log) {
      log.on('error', () => undefined); // a log that cannot be written must not take the supervisor down
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      // 'close', not 'exit': a killed node's last output may still be in its pipes at 'exit'.
      child.once('close', () => log.end());
    }
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
      child.once('error', (error) => { if (child.pid === undefined) { this.options.log(`node ${name} could not be started: ${error.message}`); resolve(-1); } });
    });
    const node: NodeHandle = { name, spec, child, exited, expectedExit: false, stopped: false, ...(log ? { log } : {}) };
    this.live.add(node);
    void exited.then((code) => {
      this.live.delete(node);
      node.stopped = true;
      if (node.expectedExit || this.options.stopping()) return;
      this.options.log(`node ${name} exited unexpectedly (code ${code})`);
      this.options.onUnexpectedExit(node);
    });
    child.on('message', (message: NodeMessage) => this.onMessage(node, message));
    child.on('error', (error) => this.options.log(`node ${name}: ${error.message}`)); // a send to a node that just died
    return node;
  }

  private onMessage(node: NodeHandle, message: NodeMessage): void {
    if (message.type === 'reply') {
      this.pending.get(message.rpc)?.resolve(message);
      this.pending.delete(message.rpc);
    } else {
      this.options.onNodeRequest(node, message);
    }
  }

  /** Sends a request and waits for its reply; a node that dies meanwhile fails the request. */
  request(node: NodeHandle, body: NodeRequestBody): Promise<NodeMessage> {
    if (node.stopped) return Promise.reject(new Error(`node ${node.name} is not running`));
    const rpc = ++this.nextRpc;
    return new Promise<NodeMessage>((resolve, reject) => {
      this.pending.set(rpc, {
        resolve: (reply) => {
          if (reply.type === 'reply' && !reply.ok) reject(new Error(`node ${node.name}: ${reply.message}`));
          else resolve(reply);
        },
      });
      void node.exited.then(() => {
        if (this.pending.delete(rpc)) reject(new Error(`node ${node.name} exited before answering ${body.type}`));
      });
      if (!node.child.connected) {
        this.pending.delete(rpc);
        reject(new Error(`node ${node.name} is not connected`));
        return;
      }
      node.child.send({ ...body, rpc } as NodeRequest, (error) => {
        if (error && this.pending.delete(rpc)) reject(new Error(`node ${node.name}: ${error.message}`));
      });
    });
  }

  signal(node: NodeHandle, signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (!node.stopped) node.child.kill(signal);
  }

  async kill(node: NodeHandle): Promise<void> {
    node.expectedExit = true;
    if (!node.stopped) node.child.kill('SIGKILL');
    await node.exited;
    this.options.log(`node ${node.name} killed (SIGKILL)`);
  }

  /** Graceful stop over IPC (a paused node is continued first); killed when it takes too long. */
  async stopNode(node: NodeHandle): Promise<void> {
    node.expectedExit = true;
    if (node.stopped) return;
    node.child.kill('SIGCONT');
    const timeoutMs = this.options.nodeStopTimeoutMs ?? NODE_STOP_TIMEOUT_MS;
    const timer = this.options.time.schedule(timeoutMs, () => {
      this.options.log(`node ${node.name} did not stop within ${timeoutMs} ms: killed`);
      node.child.kill('SIGKILL');
    });
    await this.request(node, { type: 'stop' }).catch(() => undefined);
    await node.exited;
    timer.cancel();
  }

  /** The gateways' and chat servers' metrics targets on `host` (what the API node is told at start). */
  nodeMetricsTargets(host: string): MetricsTarget[] {
    const targets: MetricsTarget[] = [];
    // Gateways first, then chat server slots, each in slot order.
    const order = (slot: string): string => `${slot.startsWith('gw') ? 0 : 1}${slot.slice(2).padStart(6, '0')}`;
    for (const [slot, port] of [...this.metricsPorts].sort(([a], [b]) => order(a).localeCompare(order(b)))) {
      targets.push({ targets: [hostPort(host, port)], labels: { chatsim_node: slot, chatsim_role: slot.startsWith('gw') ? 'gateway' : 'chat-server' } });
    }
    return targets;
  }
}

/** The slot whose metrics port a node keeps: `gw1` for a gateway, `cs1` for chat server slot 0; none for the API. */
function metricsSlot(spec: NodeSpec): string | undefined {
  if (spec.role === 'gateway') return spec.id;
  if (spec.role === 'chat-server') return `cs${spec.slot + 1}`;
  return undefined;
}

/** A request as the caller gives it: the supervisor numbers it. */
export type NodeRequestBody = DistributiveOmit<NodeRequest, 'rpc'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function openLog(dir: string, name: string): WriteStream {
  mkdirSync(dir, { recursive: true });
  return createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
}
