/**
 * A real Prometheus (Debian's package), started by the test with its own config, scrapes the
 * reference cluster (in-process, then multi-process) and the runner's `--out prometheus=`
 * endpoint during a `chatsim run --target`, once a second; its PromQL answers must match what
 * chatsim counted itself (summary.json) and what the cluster counts in its own objects.
 * Skipped with the reason when /usr/bin/prometheus (or, for the multi-process part, Cassandra)
 * is missing; with CI=true that is a failure (.ci/run installs prometheus and starts Cassandra).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster } from '../../server/Cluster.ts';
import { DEFAULT_CASSANDRA } from '../../server/cassandra/client.ts';
import { ProcessCluster } from '../../server/process/ProcessCluster.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { cassandraUnreachable } from '../contracts/helpers.ts';
import { dashboardExpressions } from '../support/dashboardCheck.ts';
import { withHeavyRunLock } from '../support/heavyRunLock.ts';
import { freePort, prometheusMissing, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';

const inCi = process.env.CI === 'true';
const missing = prometheusMissing();
const contactPoint = process.env.CHATSIM_CASSANDRA ?? DEFAULT_CASSANDRA;
const cassandraMissing = missing ? undefined : await cassandraUnreachable(contactPoint);
const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;
const ADMIN_TOKEN = 'prometheus-test-admin-token';
const dirs: string[] = [];
afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

/** Scrape config: the cluster found through its http_sd list (admin token), the runner at a fixed port. */
function prometheusConfig(job: string, httpUrl: string, runnerPort: number): string {
  return `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ${job}
    authorization: { type: Bearer, credentials: ${ADMIN_TOKEN} }
    http_sd_configs:
      - url: ${httpUrl}/v1/admin/metrics-targets
        refresh_interval: 1s
        authorization: { type: Bearer, credentials: ${ADMIN_TOKEN} }
  - job_name: chatsim-runner
    static_configs:
      - targets: ['127.0.0.1:${runnerPort}']
`;
}

interface RunResult { code: number; stderr: string; summary: any }

/** `chatsim run tiny.yaml --target URL --out prometheus=127.0.0.1:PORT`; returns its summary.json. */
async function runAgainst(httpUrl: string, runnerPort: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'chatsim-prom-run-'));
  dirs.push(dir);
  const child = spawn(process.execPath, [bin, 'run', tiny, '--target', httpUrl, '--dir', dir, '--out', `prometheus=127.0.0.1:${runnerPort}`, '--quiet'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1', CHATSIM_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  return { code: code as number, stderr, summary };
}

/** Waits until every target of `job` is up; returns how many there are (bounded: 30 attempts). */
async function targetsUp(prom: RunningPrometheus, job: string, expected: number): Promise<number | undefined> {
  return prom.waitFor(`count(up{job="${job}"} == 1)`, (v) => v === expected, 30);
}

/** The PromQL answers compared with chatsim's own counts of the run (summary.json). */
async function expectPromQlMatchesRun(prom: RunningPrometheus, job: string, run: RunResult): Promise<void> {
  const m = run.summary.metrics;
  expect(m.messagesAcked).toBeGreaterThan(0);
  // The cluster's count of stored messages reaches the phones' count of acknowledged sends
  // (no faults, a good network: every acknowledged send is one stored message, and back).
  const stored = await prom.waitFor(`sum(chatsim_chat_messages_stored_total{job="${job}"})`, (v) => v === m.messagesAcked);
  expect(stored, prom.output()).toBe(m.messagesAcked);
  // Frames by type: what the phones sent is what the gateways received.
  for (const type of ['send', 'ack', 'sync', 'presence_query']) {
    expect(await prom.scalar(`sum(chatsim_gateway_frames_in_total{job="${job}", type="${type}"})`), `frames in ${type}`).toBe(m.frames.out[type] ?? 0);
  }
  // Every phone held one connection at the top of the run (a scrape a second saw it).
  expect(await prom.scalar(`max_over_time(sum(chatsim_gateway_connections{job="${job}"})[10m:1s])`)).toBe(m.phones);
  // The runner's own endpoint, scraped while the run went, saw the same totals.
  expect(await prom.scalar('max_over_time(chatsim_runner_messages_acked_total{job="chatsim-runner"}[10m])')).toBe(m.messagesAcked);
  expect(await prom.scalar('max_over_time(chatsim_runner_messages_sent_total{job="chatsim-runner"}[10m])')).toBe(m.messagesSent);
  expect(await prom.scalar('max_over_time(chatsim_runner_phones{job="chatsim-runner"}[10m])')).toBe(m.phones);
  // The run is over: every phone's connection ended, and each connection accepted ended once.
  expect(await prom.waitFor(`sum(chatsim_gateway_connections{job="${job}"})`, (v) => v === 0)).toBe(0);
  const accepted = await prom.scalar(`sum(chatsim_gateway_connections_accepted_total{job="${job}"})`);
  expect(accepted).toBeGreaterThanOrEqual(m.phones);
  expect(await prom.scalar(`sum(chatsim_gateway_disconnects_total{job="${job}"})`)).toBe(accepted);
  // Store latency histograms per operation exist and counted every append.
  expect(await prom.scalar(`sum(chatsim_store_operation_seconds_count{job="${job}", operation="append", outcome="ok"})`)).toBeGreaterThanOrEqual(m.messagesAcked);
  expect(await prom.scalar(`histogram_quantile(0.99, sum by (le) (rate(chatsim_store_operation_seconds_bucket{job="${job}", operation="append"}[1m])))`)).toBeDefined();
}

describe.skipIf(missing !== undefined && !inCi)(`a real Prometheus scrapes the cluster and the runner${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('in-process cluster: PromQL answers match the run\'s summary and the cluster\'s own counters', async () => {
    if (missing) throw new Error(`CI must install prometheus: ${missing}`);
    await withHeavyRunLock(async () => {
      const cluster = new Cluster({ time: createSystemTime(), gateways: 2, chatServers: 2, adminToken: ADMIN_TOKEN });
      const { httpUrl } = await cluster.start();
      const runnerPort = await freePort();
      const prom = await startPrometheus(prometheusConfig('chatsim-cluster', httpUrl, runnerPort));
      try {
        expect(await targetsUp(prom, 'chatsim-cluster', 1), prom.output()).toBe(1);
        const run = await runAgainst(httpUrl, runnerPort);
        expect(run.code, run.stderr).toBe(0);
        await expectPromQlMatchesRun(prom, 'chatsim-cluster', run);
        // The cluster's own counters (its objects, not its registry) once the run is over.
        const framesIn = cluster.gateways.reduce((n, g) => n + g.stats.framesIn, 0);
        expect(await prom.waitFor('sum(chatsim_gateway_frames_in_total{job="chatsim-cluster"})', (v) => v === framesIn)).toBe(framesIn);
        const framesOut = cluster.gateways.reduce((n, g) => n + g.stats.framesOut, 0);
        expect(await prom.waitFor('sum(chatsim_gateway_frames_out_total{job="chatsim-cluster"})', (v) => v === framesOut)).toBe(framesOut);
        const online = cluster.presenceService.stats.onlineBroadcasts;
        expect(await prom.waitFor('sum(chatsim_presence_transitions_total{job="chatsim-cluster", to="online"})', (v) => v === online)).toBe(online);
        // Every expression of the Grafana dashboard is valid PromQL here and finds series, asked
        // at the last moment the runner's endpoint was up (its heal phase, when every series exists).
        const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana/chatsim.json', import.meta.url), 'utf8'));
        // (timestamp() inside a subquery gives each step's sample time; outside one it would be the evaluation time.)
        const lastRunnerScrapeMs = 1000 * (await prom.scalar('max_over_time(timestamp(chatsim_runner_elapsed_seconds)[10m:1s])'))!;
        const empty: string[] = [];
        for (const { expr } of dashboardExpressions(dashboard)) {
          const result = await prom.query(expr.replaceAll('$__rate_interval', '30s'), lastRunnerScrapeMs);
          if (result.length === 0) empty.push(expr);
        }
        // Empty in a clean run: nothing refused, dead-lettered, rate limited, closed by the gateway
        // or failed, no flap debounced, no stale presence push dropped; no phone had left yet.
        expect(empty.filter((e) => !/refused|dead_letters|rate_limited|gateway_closes|gateway_disconnects|errors_total|debounced|presence_pushes_stale/.test(e))).toEqual([]);
      } finally {
        await prom.stop();
        await cluster.stop();
      }
    });
  }, 240_000);

  it.skipIf(cassandraMissing !== undefined && !inCi)(`multi-process cluster: every node discovered and scraped, PromQL sums match the run${cassandraMissing ? ` (skipped: no Cassandra at ${contactPoint})` : ''}`, async () => {
    if (cassandraMissing) throw new Error(`CI must provide Cassandra at ${contactPoint}: ${cassandraMissing}`);
    await withHeavyRunLock(async () => {
      const cluster = new ProcessCluster({ time: createSystemTime(), gateways: 2, chatServers: 2, redis: 'local', cassandra: contactPoint, adminToken: ADMIN_TOKEN });
      const { httpUrl } = await cluster.start();
      const runnerPort = await freePort();
      let prom: RunningPrometheus | undefined;
      try {
        prom = await startPrometheus(prometheusConfig('chatsim-multi', httpUrl, runnerPort));
        expect(cluster.metricsTargets().map((t) => t.labels.chatsim_node)).toEqual(['api', 'gw1', 'gw2', 'cs1', 'cs2']);
        expect(await targetsUp(prom, 'chatsim-multi', 5), JSON.stringify(await prom.targets())).toBe(5);
        const roles = (await prom.query('count by (chatsim_role) (up{job="chatsim-multi"})')).map((s) => [s.metric.chatsim_role, s.value]).sort();
        expect(roles).toEqual([['api', 1], ['chat-server', 2], ['gateway', 2]]);
        const run = await runAgainst(httpUrl, runnerPort);
        expect(run.code, run.stderr).toBe(0);
        await expectPromQlMatchesRun(prom, 'chatsim-multi', run);
        // Frames were handled by the chat server processes and the presence service announced in the API process.
        expect(await prom.scalar('count(sum by (chatsim_node) (chatsim_chat_frames_handled_total{job="chatsim-multi"}) > 0)')).toBe(2);
        expect(await prom.scalar('sum(chatsim_presence_transitions_total{job="chatsim-multi", chatsim_role="api", to="online"})')).toBeGreaterThan(0);
        // A killed chat server's replacement serves at the same target: the slot's counters start again at 0 there.
        const targetsBefore = cluster.metricsTargets();
        expect(await prom.scalar('sum(chatsim_queue_acked_total{job="chatsim-multi", chatsim_node="cs1"})')).toBeGreaterThan(0);
        await cluster.killChatServer(0);
        expect(cluster.metricsTargets()).toEqual(targetsBefore);
        expect(await prom.waitFor('sum(chatsim_queue_acked_total{job="chatsim-multi", chatsim_node="cs1"})', (v) => v === 0)).toBe(0);
        expect(await targetsUp(prom, 'chatsim-multi', 5)).toBe(5);
      } finally {
        await prom?.stop();
        await cluster.stop();
      }
    });
  }, 300_000);
});
