import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { junitXml } from './junit.ts';
import { reportHtml, type ReportInput } from './reportHtml.ts';

export interface ReportFiles {
  /** Absolute paths of the files written: summary.json, junit.xml, report.html. */
  files: string[];
}

/** Writes a run's reports into `outDir` (created if missing). */
export async function writeReports(outDir: string, input: ReportInput): Promise<ReportFiles> {
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
