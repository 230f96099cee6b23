import { rm, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { Cluster } from '../../server/Cluster.ts';
import { CLUSTER_DEFAULTS } from '../../server/clusterDefaults.ts';
import type { ClusterAddress, ClusterControl } from '../../server/ClusterControl.ts';
import { parseContactPoint, DEFAULT_CASSANDRA } from '../../server/cassandra/client.ts';
import { isValidKeyspaceName } from '../../server/cassandra/applySchema.ts';
import { ProcessCluster } from '../../server/process/ProcessCluster.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { ADMIN_TOKEN_ENV, describeSource, resolveServeSecrets, TOKEN_SECRET_ENV, writeAdminTokenFile } from '../secrets.ts';

interface ServeOptions {
  gateways: number;
  chatServers: number;
  host: string;
  port: number;
  presenceDebounceMs?: number;
  tokenSecretFile?: string;
  adminTokenFile?: string;
  stateDir?: string;
  redis?: string | true;
  cassandra?: string | true;
  keyspace?: string;
  metricsTargetsFile?: string;
  json?: boolean;
}

/**
 * `chatsim serve`: the reference cluster. Without --redis, one process on the memory ports.
 * With --redis (and Cassandra), a process per gateway and chat server plus one for the HTTP API.
 */
export function registerServe(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('start the reference chat cluster: in one process on memory backends, or as separate processes on Redis and Cassandra (--redis)')
    .option('--gateways <n>', 'number of WebSocket gateways', parsePositive, CLUSTER_DEFAULTS.gateways)
    .option('--chat-servers <n>', 'number of chat servers', parsePositive, CLUSTER_DEFAULTS.chatServers)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'HTTP API port; gateways listen on the following ports', parsePort, 7000)
    .option('--presence-debounce-ms <ms>', 'offline broadcast debounce window', parsePositive)
    .option('--token-secret-file <path>', `file holding the HMAC key of login tokens (else $${TOKEN_SECRET_ENV}, else a fresh random one)`)
    .option('--admin-token-file <path>', `file holding the token of the /v1/admin endpoints (else $${ADMIN_TOKEN_ENV}, else a fresh random one written to <state-dir>/admin-token, mode 0600)`)
    .option('--state-dir <dir>', 'where a generated admin token is written (default: a fresh private directory under the temporary directory, removed at exit)')
    .option('--redis [url]', 'run gateways and chat servers as separate processes over Redis at url (redis://host:port); without a url a local Redis is started')
    .option('--cassandra [host:port]', `Cassandra node for the message store (default ${DEFAULT_CASSANDRA}); needs --redis`)
    .option('--keyspace <name>', 'Cassandra keyspace (created with the schema if missing, kept at exit); default chatsim with --redis <url>, a fresh one dropped at exit with a local Redis (whose directory goes with it)')
    .option('--metrics-targets-file <path>', 'write every node\'s /metrics endpoint there as a Prometheus file_sd file (JSON), removed at exit; the same list as GET /v1/admin/metrics-targets')
    .option('--json', 'print the listening addresses as JSON')
    .addHelpText('after', '\nExit codes: 0 stopped by SIGINT/SIGTERM, 3 could not start (port taken, Redis or Cassandra unreachable), 64 bad usage.\nSIGHUP restarts every chat server without closing a WebSocket.')
    .action(async (opts: ServeOptions) => setExit(await serve(opts)));
}

async function serve(opts: ServeOptions): Promise<number> {
  const time = createSystemTime();
  const resolved = await resolveServeSecrets(opts, process.env, (line) => console.error(`chatsim serve: warning: ${line}`));
  if (!resolved.ok) return usage(resolved.message);
  const { secrets, adminTokenSource, tokenSecretSource } = resolved.resolved;
  const limits = opts.presenceDebounceMs ? { presenceDebounceMs: opts.presenceDebounceMs } : {};
  let cluster: ClusterControl;
  if (opts.redis !== undefined) {
    const redis = opts.redis === true ? 'local' : opts.redis;
    if (redis !== 'local' && !/^rediss?:\/\/.+/.test(redis)) return usage(`--redis takes a redis:// URL, got ${redis}`);
    const cassandra = opts.cassandra === undefined || opts.cassandra === true ? DEFAULT_CASSANDRA : opts.cassandra;
    if (!parseContactPoint(cassandra)) return usage(`--cassandra takes HOST:PORT, got ${cassandra}`);
    if (opts.keyspace !== undefined && !isValidKeyspaceName(opts.keyspace)) return usage(`--keyspace takes a keyspace name (a letter, then letters, digits or _; 48 at most), got ${opts.keyspace}`);
    cluster = new ProcessCluster({
      time, gateways: opts.gateways, chatServers: opts.chatServers, host: opts.host, port: opts.port, ...secrets,
      limits, redis, cassandra, onLog: (line) => console.error(line),
      // A Redis of our own dies with us, and the directory with it: its messages must not outlive it.
      ...(redis === 'local' ? (opts.keyspace ? { keyspace: opts.keyspace } : {}) : { keyspace: opts.keyspace ?? 'chatsim', redisPrefix: 'chatsim:' }),
    });
  } else {
    if (opts.cassandra !== undefined) return usage('--cassandra needs --redis: a cluster of separate processes shares its directory, queue and presence in Redis');
    cluster = new Cluster({ time, gateways: opts.gateways, chatServers: opts.chatServers, host: opts.host, port: opts.port, ...secrets, limits });
  }
  let address: ClusterAddress;
  let tokenFile: { path: string; remove(): Promise<void> } | undefined;
  try {
    address = await cluster.start();
    if (adminTokenSource.kind === 'generated') tokenFile = await writeAdminTokenFile(secrets.adminToken, opts.stateDir);
  } catch (error) {
    console.error(`chatsim serve: could not start: ${(error as Error).message}`);
    await cluster.stop().catch(() => undefined);
    return 3;
  }
  if (opts.metricsTargetsFile !== undefined) {
    try {
      await writeFile(opts.metricsTargetsFile, `${JSON.stringify(cluster.metricsTargets(), null, 2)}\n`);
    } catch (error) {
      console.error(`chatsim serve: cannot write --metrics-targets-file: ${(error as Error).message}`);
      await cluster.stop().catch(() => undefined);
      await tokenFile?.remove();
      return 3;
    }
  }
  const adminTokenFile = adminTokenSource.kind === 'file' ? adminTokenSource.path : tokenFile?.path;
  if (opts.json) console.log(JSON.stringify({ ...address, ...(adminTokenFile ? { adminTokenFile } : {}), metricsTargets: cluster.metricsTargets() }));
  else {
    // Where the secrets are, never what they are (docs/security.md).
    console.log(`admin token  ${describeSource(adminTokenSource, tokenFile?.path)}`);
    console.log(`token secret ${describeSource(tokenSecretSource)}`);
    console.log(`HTTP API   ${address.httpUrl}`);
    for (const url of address.gatewayUrls) console.log(`gateway    ${url}  (subprotocol chatsim.v1)`);
    const where = cluster instanceof ProcessCluster ? `${opts.chatServers} processes` : `${opts.chatServers}, in this process`;
    console.log(`chat servers: ${where}; restart them with POST ${address.httpUrl}/v1/admin/restart-chat-servers (x-admin-token) or SIGHUP`);
    if (cluster instanceof ProcessCluster) console.log(`processes: ${Object.entries(cluster.pids()).map(([name, pid]) => `${name}=${pid}`).join(' ')}`);
    const targets = cluster.metricsTargets().map((t) => `${t.labels.chatsim_node}=${t.targets.join(',')}`).join(' ');
    console.log(`metrics    GET /metrics with Authorization: Bearer <admin token>: ${targets}; Prometheus http_sd: ${address.httpUrl}/v1/admin/metrics-targets (docs/metrics.md)`);
  }
  process.on('SIGHUP', () => void cluster.restartChatServers().then(
    (n) => console.log(`restarted ${n} chat servers`),
    (error: Error) => console.error(`chatsim serve: the restart failed: ${error.message}`),
  ));
  await new Promise<void>((resolve) => {
    const shutdown = (): void => resolve();
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await cluster.stop();
  await tokenFile?.remove();
  if (opts.metricsTargetsFile !== undefined) await rm(opts.metricsTargetsFile, { force: true });
  return 0;
}

function usage(message: string): number {
  console.error(`chatsim serve: ${message}`);
  return 64;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number, got ${value}`);
  return n;
}
