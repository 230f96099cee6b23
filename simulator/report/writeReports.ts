import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FaultWindow } from '../engine/LiveRun.ts';
import type { MetricsSnapshot } from '../metrics/Metrics.ts';
import { junitXml } from './junit.ts';
import { reportHtml } from './reportHtml.ts';
import type { Summary } from './Summary.ts';

export interface ReportFiles {
  /** Absolute paths of the files written: summary.json, junit.xml, report.html. */
  files: string[];
}

/** Writes a run's reports into `outDir` (created if missing). */
export async function writeReports(outDir: string, input: { summary: Summary; metrics: MetricsSnapshot; faults: FaultWindow[] }): Promise<ReportFiles> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const contents: Array<[string, string]> = [
    ['summary.json', `${JSON.stringify(input.summary, null, 2)}\n`],
    ['junit.xml', junitXml(input.summary)],
    ['report.html', reportHtml(input)],
  ];
  const files = contents.map(([name]) => join(dir, name));
  await Promise.all(contents.map(([name, text]) => writeFile(join(dir, name), text, 'utf8')));
  return { files };
}
