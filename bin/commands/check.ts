import type { Command } from 'commander';
import { resolve } from 'node:path';
import { checkRun } from '../../simulator/check/checkRun.ts';
import type { PropertyResult } from '../../simulator/check/PropertyResult.ts';
import { loadRun } from '../../simulator/history/runRecord.ts';
import { EXIT_CODES } from '../../simulator/report/Summary.ts';

/** `chatsim check <run-dir>`: re-checks a saved run's history with the same code `chatsim run` uses. */
export function registerCheck(program: Command, setExit: (code: number) => void): void {
  program
    .command('check')
    .description('re-check the history of a saved run (a directory written by chatsim run)')
    .argument('<run-dir>', 'run directory holding run.json and history.jsonl.gz')
    .option('--json', 'print the property results as JSON')
    .option('--core', 'check only the core properties (A4, A5, B1, F1), not the whole catalogue A1-F2')
    .option('--all', 'check the whole catalogue A1-F2 (the default; kept for scripts written when core was)')
    .addHelpText('after', '\nExit codes: 0 every property passed (or unknown), 1 a property failed, 64 not a readable run directory.')
    .action(async (dir: string, opts: { json?: boolean; core?: boolean }) => setExit(await checkCommand(resolve(dir), opts.json === true, opts.core !== true)));
}

async function checkCommand(dir: string, json: boolean, all: boolean): Promise<number> {
  const loaded = await loadRun(dir);
  if (!loaded.ok) {
    console.error(`chatsim check: ${loaded.message}`);
    return EXIT_CODES.usage;
  }
  const { record, facts, events } = loaded;
  const properties = checkRun(events, facts, {
    presenceDebounceMs: record.presenceDebounceMs, seed: record.seed, reproduce: record.reproduce, checks: all ? 'all' : 'core',
    ...(record.presenceTtlMs !== undefined ? { presenceTtlMs: record.presenceTtlMs } : {}),
    ...(record.friendsOfUser ? { friendsOfUser: new Map(record.friendsOfUser) } : {}),
    ...(record.serverClockOffsetMaxMs ? { serverClockOffsetMaxMs: record.serverClockOffsetMaxMs } : {}),
  });
  const failed = properties.some((p) => p.verdict === 'fail');
  if (json) {
    console.log(JSON.stringify({ verdict: failed ? 'fail' : 'pass', exitCode: failed ? EXIT_CODES.property : EXIT_CODES.pass, seed: record.seed, reproduce: record.reproduce, events: events.length, properties }, null, 2));
  } else {
    console.log(`${failed ? 'FAIL' : 'PASS'}  ${record.scenario.name}  seed ${record.seed}  ${events.length} events`);
    const nameWidth = Math.max(...properties.map((p) => p.name.length)) + 2;
    for (const p of properties) console.log(propertyLine(p, nameWidth));
    if (failed) console.log(`\nreproduce: ${record.reproduce}`);
  }
  return failed ? EXIT_CODES.property : EXIT_CODES.pass;
}

function propertyLine(p: PropertyResult, nameWidth: number): string {
  const head = `  ${p.id.padEnd(4)}${p.name.padEnd(nameWidth)}${p.verdict.padEnd(8)}${String(p.violations).padStart(6)}`;
  const detail = p.verdict === 'fail' ? p.examples.slice(0, 3).map((e) => `\n        ${e}`).join('') : p.reason ? `  (${p.reason})` : '';
  return head + detail;
}
