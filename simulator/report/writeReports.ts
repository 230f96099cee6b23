import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { junitXml } from './junit.ts';
import type { TimeSeriesPoint } from '../metrics/tagBreakdown.ts';
import { reportHtml, type ReportInput } from './reportHtml.ts';

export interface ReportFiles {
  /** Absolute paths of the files written: summary.json, timeseries.jsonl, junit.xml, report.html. */
  files: string[];
}

/**
 * One second of the run's time series: `tMs` (start of the second since t = 0), counts completed
 * in it (`sent`, `delivered`, `errors`, `reconnects`), `connected` (devices connected at its
 * end; null when unknown) and `metrics`: per tagged metric, per series ("all", "tag:value"),
 * {count, p50, p95, p99, max} in ms of the samples that completed in it.
 */
export interface TimeSeriesRow extends TimeSeriesPoint {
  sent: number;
  delivered: number;
  errors: number;
  connected: number | null;
  reconnects: number | null;
}

export function timeSeriesRows(input: Pick<ReportInput, 'metrics' | 'connections' | 'points'>): TimeSeriesRow[] {
  const counts = new Map(input.metrics.timeline.map((r) => [Math.round(r.tMs / 1000), r]));
  const points = input.points ?? [];
  const seconds = Math.max(points.length, (input.connections?.connected.length ?? 0), ...[...counts.keys()].map((s) => s + 1));
  return Array.from({ length: seconds }, (_, s) => {
    const row = counts.get(s);
    return {
      tMs: s * 1000, sent: row?.sent ?? 0, delivered: row?.delivered ?? 0, errors: row?.errors ?? 0,
      connected: input.connections?.connected[s] ?? null, reconnects: input.connections?.reconnects[s] ?? null,
      metrics: points[s]?.metrics ?? {},
    };
  });
}

function jsonLines(rows: readonly unknown[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** Writes a run's reports into `outDir` (created if missing). */
export async function writeReports(outDir: string, input: ReportInput): Promise<ReportFiles> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const contents: Array<[string, string]> = [
    ['summary.json', `${JSON.stringify(input.summary, null, 2)}\n`],
    ['timeseries.jsonl', jsonLines(timeSeriesRows(input))],
    ['junit.xml', junitXml(input.summary)],
    ['report.html', reportHtml(input)],
  ];
  const files = contents.map(([name]) => join(dir, name));
  await Promise.all(contents.map(([name, text]) => writeFile(join(dir, name), text, 'utf8')));
  return { files };
}
