// A real Prometheus (Debian's package, /usr/bin/prometheus) started by a test: its own config,
// a free loopback port and a temporary storage directory, stopped and removed at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BIN = process.env.CHATSIM_PROMETHEUS ?? '/usr/bin/prometheus';

/** Why no Prometheus can run here, or undefined when one can. */
export function prometheusMissing(): string | undefined {
  return existsSync(PROMETHEUS_BIN) ? undefined : `${PROMETHEUS_BIN} is missing (apt-get install prometheus)`;
}

/** Ports of the other services a test machine may run (Redis, RabbitMQ, NATS, Mosquitto, PostgreSQL, Cassandra, MariaDB, Prometheus's default): never handed out. */
const RESERVED_PORTS = new Set([6379, 5672, 15672, 4222, 1883, 5432, 9042, 3306, 9090]);

/** A loopback port that was free a moment ago (the kernel's pick, never a reserved one). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
    if (!RESERVED_PORTS.has(port)) return port;
  }
  throw new Error('no free port');
}

export interface PromVectorSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  url: string;
  /** An instant query through the HTTP API (/api/v1/query), now or at `atMs` (Unix ms); a vector's samples. */
  query(promql: string, atMs?: number): Promise<PromVectorSample[]>;
  /** The single value of a query that returns at most one sample (undefined for none). */
  scalar(promql: string): Promise<number | undefined>;
  /** Polls `promql` once a second, at most `attempts` times, until `accept` holds for its value; returns the last value. */
  waitFor(promql: string, accept: (value: number | undefined) => boolean, attempts?: number): Promise<number | undefined>;
  /** The scrape targets Prometheus knows now (/api/v1/targets, active ones). */
  targets(): Promise<Array<{ labels: Record<string, string>; health: string; scrapeUrl: string; lastError: string }>>;
  /** Prometheus's own output, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus with `config` (YAML text); resolves once /-/ready answers 200 (at most 60 attempts, 250 ms apart). */
export async function startPrometheus(config: string): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'chatsim-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(PROMETHEUS_BIN, [
    `--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => { log += d; });
  child.stderr?.on('data', (d) => { log += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  let ready = false;
  for (let attempt = 0; attempt < 60 && !ready; attempt++) {
    if (child.exitCode !== null) break;
    ready = await fetch(`${url}/-/ready`).then((r) => r.status === 200, () => false);
    if (!ready) await sleep(250);
  }
  if (!ready) {
    await stop();
    throw new Error(`prometheus did not become ready:\n${log}`);
  }
  const query = async (promql: string, atMs?: number): Promise<PromVectorSample[]> => {
    const at = atMs === undefined ? '' : `&time=${(atMs / 1000).toFixed(3)}`;
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}${at}`);
    const body = await res.json() as { status: string; error?: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
    if (body.data.resultType !== 'vector') throw new Error(`query ${promql}: a ${body.data.resultType}, not a vector`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const scalar = async (promql: string): Promise<number | undefined> => {
    const result = await query(promql);
    if (result.length > 1) throw new Error(`query ${promql}: ${result.length} samples, expected at most one`);
    return result[0]?.value;
  };
  return {
    url, query, scalar, stop, output: () => log,
    async waitFor(promql, accept, attempts = 30) {
      let value: number | undefined;
      for (let i = 0; i < attempts; i++) {
        value = await scalar(promql);
        if (accept(value)) return value;
        await sleep(1000);
      }
      return value;
    },
    async targets() {
      const body = await (await fetch(`${url}/api/v1/targets?state=active`)).json() as { data: { activeTargets: Array<{ labels: Record<string, string>; health: string; scrapeUrl: string; lastError: string }> } };
      return body.data.activeTargets;
    },
  };
}
