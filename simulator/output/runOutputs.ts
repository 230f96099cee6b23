import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname, resolve } from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import type { RunProgress } from '../report/RunProgress.ts';
import type { Summary } from '../report/Summary.ts';
import type { TimeSeriesRow } from '../report/writeReports.ts';

/**
 * Where a run's results go besides its run directory, k6 style (`--out KIND=WHERE`, repeatable):
 *
 * - `json=FILE`: JSON lines, streamed while the run goes: a `progress` line a second (elapsed,
 *   phase, phones, connected, sent, acked, delivered, errors, all cumulative), then at the end a
 *   `point` line per second of the tagged time series (as the run directory's timeseries.jsonl)
 *   and one `summary` line (verdict, exit code, thresholds).
 * - `csv=FILE`: the time series at the end, long format: `t_ms,metric,series,count,p50,p95,p99,max`
 *   (counters such as `sent` have only `count`).
 * - `prometheus=[HOST]:PORT`: a Prometheus text endpoint (`/metrics`) served by the runner while
 *   the run goes, with the progress counters and gauges (`chatsim_runner_*`); it stops when the
 *   run ends. HOST defaults to 127.0.0.1.
 */
export type OutputSpec =
  | { kind: 'json'; file: string }
  | { kind: 'csv'; file: string }
  | { kind: 'prometheus'; host: string; port: number };

export type ParsedOutput = { ok: true; spec: OutputSpec } | { ok: false; message: string };

export const OUTPUT_KINDS = ['json', 'csv', 'prometheus'] as const;

export function parseOutputSpec(value: string): ParsedOutput {
  const eq = value.indexOf('=');
  if (eq < 0) return { ok: false, message: `expected KIND=WHERE (${OUTPUT_KINDS.map((k) => `${k}=`).join(', ')}), got "${value}"` };
  const kind = value.slice(0, eq);
  const where = value.slice(eq + 1);
  if (kind === 'json' || kind === 'csv') {
    if (where === '') return { ok: false, message: `${kind}= needs a file name, e.g. ${kind}=results.${kind === 'json' ? 'jsonl' : 'csv'}` };
    return { ok: true, spec: { kind, file: resolve(where) } };
  }
  if (kind === 'prometheus') {
    const match = /^(?:([\w.-]+|\[[0-9a-fA-F:]+\]))?:(\d{1,5})$/.exec(where);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65_535 || !Number.isInteger(port)) return { ok: false, message: `prometheus= needs [HOST]:PORT with a port in 1..65535, e.g. prometheus=:9464; got "${where}"` };
    return { ok: true, spec: { kind, host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port } };
  }
  return { ok: false, message: `unknown output kind "${kind}"; use ${OUTPUT_KINDS.map((k) => `${k}=`).join(', ')}` };
}

export interface RunOutputs {
  /** Every progress tick (about once a second). */
  progress(p: RunProgress): void;
  /** At the end: the time series and the summary; closes files and endpoints. */
  finish(summary: Summary, rows: readonly TimeSeriesRow[]): Promise<void>;
  /** Closes everything without writing the end (an interrupted or failed run). */
  close(): Promise<void>;
  /** The Prometheus endpoints listening (port 0 in a spec picks a free one). */
  endpoints(): Array<{ host: string; port: number }>;
}

/** Opens every output; an endpoint that cannot listen (port taken) is an error before the run starts. */
export async function openOutputs(specs: readonly OutputSpec[]): Promise<RunOutputs> {
  const streams: WriteStream[] = [];
  const jsonStreams: WriteStream[] = [];
  const csvFiles: string[] = [];
  const servers: Array<{ server: Server; update: (p: RunProgress) => void }> = [];
  const close = async (): Promise<void> => {
    await Promise.all(streams.map((s) => new Promise<void>((done) => s.end(done))));
    await Promise.all(servers.map(({ server }) => new Promise<void>((done) => server.close(() => done()))));
  };
  try {
    for (const spec of specs) {
      if (spec.kind === 'json') {
        await mkdir(dirname(spec.file), { recursive: true });
        const stream = createWriteStream(spec.file, { flags: 'w' });
        // Opened before the run starts: a path that cannot be written (a directory, no permission) is refused now, not as a crash later.
        await new Promise<void>((opened, fail) => {
          stream.once('open', () => opened());
          stream.once('error', (error) => fail(new Error(`json=${spec.file}: cannot write it: ${(error as NodeJS.ErrnoException).code ?? error.message}`)));
        });
        streams.push(stream);
        jsonStreams.push(stream);
      } else if (spec.kind === 'csv') {
        await mkdir(dirname(spec.file), { recursive: true });
        // Written at the end, checked now: an empty file until then.
        await writeFile(spec.file, '').catch((error: NodeJS.ErrnoException) => { throw new Error(`csv=${spec.file}: cannot write it: ${error.code ?? error.message}`); });
        csvFiles.push(spec.file);
      } else {
        servers.push(await prometheusEndpoint(spec.host, spec.port));
      }
    }
  } catch (error) {
    // Whatever did open (a file, a listening endpoint) is closed: the run does not start.
    await close();
    throw error;
  }
  return {
    progress(p) {
      const line = `${JSON.stringify({ type: 'progress', ...p })}\n`;
      for (const s of jsonStreams) s.write(line);
      for (const { update } of servers) update(p);
    },
    async finish(summary, rows) {
      const pointLines = rows.map((row) => `${JSON.stringify({ type: 'point', ...row })}\n`).join('');
      const summaryLine = `${JSON.stringify({ type: 'summary', verdict: summary.verdict, exitCode: summary.exitCode, seed: summary.seed, thresholds: summary.thresholds })}\n`;
      for (const s of jsonStreams) s.write(pointLines + summaryLine);
      await Promise.all(csvFiles.map((file) => writeFile(file, timeSeriesCsv(rows))));
      await close();
    },
    close,
    endpoints: () => servers.map(({ server }) => {
      const address = server.address();
      return typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : { host: '', port: 0 };
    }),
  };
}

/** Long-format CSV of the time series: one row per second, metric and series. */
export function timeSeriesCsv(rows: readonly TimeSeriesRow[]): string {
  const out = ['t_ms,metric,series,count,p50,p95,p99,max'];
  const cell = (v: number | null | undefined): string => (v === null || v === undefined ? '' : String(v));
  for (const row of rows) {
    for (const name of ['sent', 'delivered', 'errors', 'connected', 'reconnects'] as const) out.push(`${row.tMs},${name},all,${cell(row[name])},,,,`);
    for (const [metric, bySeries] of Object.entries(row.metrics)) {
      for (const [series, st] of Object.entries(bySeries)) out.push(`${row.tMs},${metric},${csvField(series)},${st.count},${cell(st.p50)},${cell(st.p95)},${cell(st.p99)},${cell(st.max)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The runner's own Prometheus endpoint: cumulative progress as counters, the rest as gauges. */
async function prometheusEndpoint(host: string, port: number): Promise<{ server: Server; update: (p: RunProgress) => void }> {
  const registry = new Registry();
  const counters = {
    sent: new Counter({ name: 'chatsim_runner_messages_sent_total', help: 'Messages the phones sent', registers: [registry] }),
    acked: new Counter({ name: 'chatsim_runner_messages_acked_total', help: 'Sends the server acknowledged', registers: [registry] }),
    delivered: new Counter({ name: 'chatsim_runner_messages_delivered_total', help: 'Messages rendered on a recipient phone', registers: [registry] }),
    errors: new Counter({ name: 'chatsim_runner_errors_total', help: 'Error frames the phones received', registers: [registry] }),
  };
  const phones = new Gauge({ name: 'chatsim_runner_phones', help: 'Phones in the run', registers: [registry] });
  const connected = new Gauge({ name: 'chatsim_runner_phones_connected', help: 'Phones connected now', registers: [registry] });
  const elapsed = new Gauge({ name: 'chatsim_runner_elapsed_seconds', help: 'Seconds since the run started', registers: [registry] });
  const phase = new Gauge({ name: 'chatsim_runner_phase', help: '1 for the phase the run is in', labelNames: ['phase'], registers: [registry] });
  const last = { sent: 0, acked: 0, delivered: 0, errors: 0 };
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), () => res.writeHead(500).end());
  });
  await new Promise<void>((ready, fail) => {
    server.once('error', (error) => fail(new Error(`prometheus=${host}:${port}: cannot listen: ${error.message}`)));
    server.listen(port, host, () => ready());
  });
  const update = (p: RunProgress): void => {
    for (const key of ['sent', 'acked', 'delivered', 'errors'] as const) {
      if (p[key] > last[key]) counters[key].inc(p[key] - last[key]);
      last[key] = Math.max(last[key], p[key]);
    }
    phones.set(p.phones);
    connected.set(p.connected);
    elapsed.set(p.elapsedMs / 1000);
    for (const name of ['setup', 'load', 'heal', 'collect']) phase.set({ phase: name }, name === p.phase ? 1 : 0);
  };
  return { server, update };
}
