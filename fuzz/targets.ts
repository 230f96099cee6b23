// The clusters a fuzz run attacks: `chatsim serve` as a child process (the real command, in-memory
// backends, its heap read after a forced GC over the inspector protocol), or the multi-process
// cluster (server/process/ProcessCluster.ts) on a Redis of its own and the Cassandra node.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Cluster, type ClusterOptions } from '../server/Cluster.ts';
import { ProcessCluster } from '../server/process/ProcessCluster.ts';
import { DEFAULT_LIMITS, type ServerLimits } from '../server/protocol/limits.ts';
import { createSystemTime } from '../server/runtime/systemTime.ts';

export const CHATSIM_BIN = fileURLToPath(new URL('../bin/chatsim.js', import.meta.url));

export interface FuzzTarget {
  name: string;
  httpUrl: string;
  gatewayUrls: string[];
  adminToken: string;
  limits: ServerLimits;
  /** One line per server process that died on its own; empty while every one is alive. */
  deaths(): string[];
  /** The server's JS heap in use right after a forced full GC, in bytes; absent when it cannot be read. */
  heapUsedAfterGc?(): Promise<number>;
  /** Stops the cluster (SIGKILL when it does not stop within a few seconds: a hung server must not hang the fuzz run). */
  stop(): Promise<void>;
}

/** Starts `chatsim serve --port 0 --json` with --expose-gc and the inspector on a free loopback port. */
export async function startServe(options: { gateways?: number; chatServers?: number } = {}): Promise<FuzzTarget> {
  const adminToken = randomBytes(16).toString('hex');
  // The admin token goes in by the environment, and by --admin-token while serve has that option.
  const help = spawnSync(process.execPath, [CHATSIM_BIN, 'serve', '--help'], { encoding: 'utf8' }).stdout;
  const args = [
    '--expose-gc', '--inspect=127.0.0.1:0', CHATSIM_BIN, 'serve', '--port', '0', '--json',
    '--gateways', String(options.gateways ?? 2), '--chat-servers', String(options.chatServers ?? 2),
    ...(/--admin-token </.test(help) ? ['--admin-token', adminToken] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHATSIM_ADMIN_TOKEN: adminToken } });
  // A hung server ignores SIGTERM; whatever ends the fuzz run (a test timeout too) must not leave it behind.
  const killOnExit = (): void => { child.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
  const exit: { line?: string } = {};
  let stopping = false;
  child.once('exit', (code, signal) => { if (!stopping) exit.line = `chatsim serve exited (code ${code}, signal ${signal}): ${lastLines(stderr)}`; });
  const deadline = Date.now() + 60_000;
  while ((!stdout.includes('\n') || !/ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.test(stderr)) && Date.now() < deadline && !exit.line) await sleep(50);
  if (!stdout.includes('\n') || exit.line) {
    child.kill('SIGKILL');
    throw new Error(`chatsim serve did not start: ${exit.line ?? lastLines(stderr)}`);
  }
  const address = JSON.parse(stdout.split('\n')[0]!) as { httpUrl: string; gatewayUrls: string[] };
  const inspectorUrl = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(stderr)![0];
  return {
    name: 'chatsim serve', ...address, adminToken, limits: DEFAULT_LIMITS,
    deaths: () => (exit.line ? [exit.line] : []),
    heapUsedAfterGc: () => heapAfterGc(inspectorUrl),
    stop: async () => {
      stopping = true;
      await stopChild(child);
    },
  };
}

/** The multi-process cluster: 2 gateway, 2 chat server and 1 API process on a local Redis and the Cassandra node. */
export async function startProcessCluster(options: { cassandra: string; gateways?: number; chatServers?: number }): Promise<FuzzTarget> {
  const adminToken = randomBytes(16).toString('hex');
  const lines: string[] = [];
  const cluster = new ProcessCluster({
    time: createSystemTime(), gateways: options.gateways ?? 2, chatServers: options.chatServers ?? 2, redis: 'local', cassandra: options.cassandra,
    adminToken, onLog: (line) => lines.push(line),
  });
  const address = await cluster.start();
  return {
    name: 'multi-process cluster', ...address, adminToken, limits: cluster.limits,
    deaths: () => lines.filter((l) => /exited unexpectedly|could not be started|restart/i.test(l)),
    stop: () => cluster.stop(),
  };
}

/**
 * The cluster in this very process (server/Cluster.ts on real time): cheap, for the tests that
 * prove the fuzz suite's checkers; it cannot crash apart from its caller, so deaths() is empty.
 */
export async function startInProcess(options: Partial<ClusterOptions> = {}): Promise<FuzzTarget & { cluster: Cluster }> {
  const adminToken = randomBytes(16).toString('hex');
  const cluster = new Cluster({ time: createSystemTime(), gateways: 2, chatServers: 2, port: 0, adminToken, ...options });
  const address = await cluster.start();
  return { name: 'in-process cluster', ...address, adminToken, limits: cluster.limits, deaths: () => [], stop: () => cluster.stop(), cluster };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/** Two full collections (weak references, then what their finalizers freed), then the heap in use. */
async function heapAfterGc(inspectorUrl: string): Promise<number> {
  const ws = new WebSocket(inspectorUrl);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  let next = 0;
  const call = (method: string, params: object = {}): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
    const id = ++next;
    const timer = setTimeout(() => reject(new Error(`inspector: ${method} unanswered (the server is hung?)`)), 30_000);
    const onMessage = (data: WebSocket.RawData): void => {
      const m = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
      if (m.id !== id) return;
      ws.off('message', onMessage);
      clearTimeout(timer);
      if (m.error) reject(new Error(`inspector: ${method}: ${m.error.message}`));
      else resolve(m.result ?? {});
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, method, params }));
  });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    return Number(usage.usedSize);
  } finally {
    ws.close();
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').filter((l) => !/Debugger|inspector|For help, see/.test(l)).slice(-8).join(' | ');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
