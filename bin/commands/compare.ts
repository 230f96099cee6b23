import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareRuns, formatComparison } from '../../simulator/report/compareRuns.ts';
import { EXIT_CODES, type Summary } from '../../simulator/report/Summary.ts';

/**
 * `chatsim compare <baseline> <run>`: each a run directory or a summary.json. Exit codes:
 * 0 no regression, 2 a regression past tolerance, 64 bad usage (a path that is not a run).
 */
export function registerCompare(program: Command, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare a run with a baseline run, metric by metric and tag by tag, against run-to-run noise')
    .argument('<baseline>', 'the baseline: a run directory or its summary.json (e.g. main\'s last run)')
    .argument('<run>', 'the run to judge: a run directory or its summary.json')
    .option('--json', 'print the comparison as JSON')
    .option('--all', 'list every stat compared, not only those that changed past their tolerance')
    .addHelpText('after', '\nTolerances (simulator/report/compareRuns.ts, docs/ci.md): a p50 may grow 30 %, a p95/p99 50 %,\nand never regresses by less than 50 ms; rates may fall 20 %; the error rate may rise 0.005;\na property that passed in the baseline must not fail.\n\nExit codes: 0 no regression, 2 a regression past tolerance, 64 a path that is not a run.')
    .action(async (baselinePath: string, runPath: string, opts: { json?: boolean; all?: boolean }) => setExit(await compareCommand(baselinePath, runPath, opts)));
}

async function compareCommand(baselinePath: string, runPath: string, opts: { json?: boolean; all?: boolean }): Promise<number> {
  const baseline = await readSummary(baselinePath);
  const run = await readSummary(runPath);
  for (const loaded of [baseline, run]) {
    if (!loaded.ok) {
      console.error(`chatsim compare: ${loaded.message}`);
      return EXIT_CODES.usage;
    }
  }
  if (!baseline.ok || !run.ok) return EXIT_CODES.usage;
  const comparison = compareRuns(baseline.summary, run.summary);
  console.log(opts.json ? JSON.stringify(comparison, null, 2) : formatComparison(comparison, { all: opts.all === true }));
  return comparison.regressions.length > 0 ? EXIT_CODES.threshold : EXIT_CODES.pass;
}

/** A summary.json, or the one in a run directory; a clear message when it is neither. */
export async function readSummary(path: string): Promise<{ ok: true; summary: Summary } | { ok: false; message: string }> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'summary.json');
    const summary = JSON.parse(await readFile(file, 'utf8')) as Summary;
    if (typeof summary !== 'object' || summary === null || summary.schemaVersion !== 1 || typeof summary.metrics !== 'object') return { ok: false, message: `${file} is not a chatsim summary.json (schemaVersion 1)` };
    return { ok: true, summary };
  } catch (error) {
    return { ok: false, message: `${path}: not a run directory or summary.json (${(error as Error).message})` };
  }
}
