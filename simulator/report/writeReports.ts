import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { junitXml } from './junit.ts';
import { reportHtml, type ReportInput } from './reportHtml.ts';

export interface ReportFiles {
  /** Absolute paths of the files written: summary.json, timeseries.jsonl, junit.xml, report.html. */
  files: string[];
}

/**
 * The run's time series, one JSON object per line and second: `tMs` (start of the second since
 * t = 0), counts completed in it (`sent`, `delivered`, `errors`, `reconnects`), `connected`
 * (devices connected at its end) and `metrics`: per tagged metric, per series ("all",
 * "tag:value"), {count, p50, p95, p99, max} in ms of the samples that completed in it.
 */
export function timeSeriesLines(input: Pick<ReportInput, 'metrics' | 'connections' | 'points'>): string {
  const counts = new Map(input.metrics.timeline.map((r) => [Math.round(r.tMs / 1000), r]));
  const points = input.points ?? [];
  const seconds = Math.max(points.length, (input.connections?.connected.length ?? 0), ...[...counts.keys()].map((s) => s + 1));
  const lines: string[] = [];
  for (let s = 0; s < seconds; s++) {
    const row = counts.get(s);
    lines.push(JSON.stringify({
      tMs: s * 1000, sent: row?.sent ?? 0, delivered: row?.delivered ?? 0, errors: row?.errors ?? 0,
      connected: input.connections?.connected[s] ?? null, reconnects: input.connections?.reconnects[s] ?? null,
      metrics: points[s]?.metrics ?? {},
    }));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Writes a run's reports into `outDir` (created if missing). */
export async function writeReports(outDir: string, input: ReportInput): Promise<ReportFiles> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const contents: Array<[string, string]> = [
    ['summary.json', `${JSON.stringify(input.summary, null, 2)}\n`],
    ['timeseries.jsonl', timeSeriesLines(input)],
    ['junit.xml', junitXml(input.summary)],
    ['report.html', reportHtml(input)],
  ];
  const files = contents.map(([name]) => join(dir, name));
  await Promise.all(contents.map(([name, text]) => writeFile(join(dir, name), text, 'utf8')));
  return { files };
}
