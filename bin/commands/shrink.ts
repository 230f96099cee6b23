import { InvalidArgumentError, type Command } from 'commander';
import { join, resolve } from 'node:path';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { EXIT_CODES } from '../../simulator/report/Summary.ts';
import { describeSize, shrinkRun, SHRINK_RUNS_MAX_DEFAULT } from '../../simulator/shrink/shrinkRun.ts';
import { PROPERTY_IDS } from '../../simulator/check/checkAll.ts';
import { didYouMean } from '../../simulator/scenario/didYouMean.ts';
import { parsePositive, writableDirectory } from './run.ts';

interface ShrinkCliOptions {
  property?: string;
  out?: string;
  runs?: number;
  json?: boolean;
}

/**
 * `chatsim shrink <run-dir>`: the smallest scenario on which the same property still fails.
 * Exit codes: 0 shrunk (the smallest case fails as the original did), 1 the run does not fail
 * that property under the simulation engine, 64 not a run directory.
 */
export function registerShrink(program: Command, setExit: (code: number) => void): void {
  program
    .command('shrink')
    .description('remove phones, chats, messages, faults and time from a failing run while the same property still fails; writes the smallest scenario, its run and a timeline')
    .argument('<run-dir>', 'a run directory from chatsim run or chatsim sim (holds scenario.yaml and summary.json)')
    .option('--property <id>', 'the property that must keep failing (default: the run\'s likely root cause, the first failed property with causes before symptoms)', parseProperty)
    .option('--out <dir>', 'where the smallest case goes (default <run-dir>/shrunk)')
    .option('--runs <n>', `most simulation runs to spend (default ${SHRINK_RUNS_MAX_DEFAULT})`, parsePositive)
    .option('--json', 'print the outcome as JSON')
    .addHelpText('after', '\nShrinking runs the simulation engine under the run\'s seed; a failure seen only live cannot be shrunk.\n\nExit codes: 0 shrunk, 1 the property does not fail under the simulation engine, 64 not a run directory.')
    .action(async (dir: string, opts: ShrinkCliOptions) => setExit(await shrinkCommand(resolve(dir), opts)));
}

async function shrinkCommand(runDir: string, opts: ShrinkCliOptions): Promise<number> {
  const outDir = resolve(opts.out ?? join(runDir, 'shrunk'));
  if (opts.out !== undefined) {
    const writable = await writableDirectory(outDir);
    if (!writable.ok) {
      console.error(`chatsim shrink: --out ${outDir}: ${writable.message}`);
      return EXIT_CODES.usage;
    }
  }
  const outcome = await shrinkRun({
    runDir, outDir, time: createSystemTime(),
    ...(opts.property !== undefined ? { property: opts.property } : {}),
    ...(opts.runs !== undefined ? { runsMax: opts.runs } : {}),
    onStep: (line) => { if (!opts.json) console.error(line); },
  });
  if (!outcome.ok) {
    if (opts.json) console.log(JSON.stringify(outcome, null, 2));
    else console.error(`chatsim shrink: ${outcome.code}: ${outcome.message}`);
    return outcome.code === 'NOT_A_RUN' ? EXIT_CODES.usage : EXIT_CODES.property;
  }
  if (opts.json) {
    const { timeline: _timeline, ...rest } = outcome;
    console.log(JSON.stringify(rest, null, 2));
  } else {
    console.log(`${outcome.property} still fails after ${outcome.steps.length} step(s), ${outcome.runs} simulation run(s)`);
    console.log(`  before: ${describeSize(outcome.before)}`);
    console.log(`  after:  ${describeSize(outcome.after)}`);
    console.log(`  ${outcome.example}`);
    console.log(`  scenario: ${outcome.scenarioPath}`);
    console.log(`  reproduce: ${outcome.reproduce}`);
    console.log(`  timeline (${outcome.timelinePath}):`);
    console.log(outcome.timeline);
  }
  return EXIT_CODES.pass;
}

/** A property id of the catalogue (`a5` is A5). */
function parseProperty(value: string): string {
  const id = value.toUpperCase();
  if ((PROPERTY_IDS as readonly string[]).includes(id)) return id;
  throw new InvalidArgumentError(`unknown property ${value}${didYouMean(id, PROPERTY_IDS) || ` (the catalogue is ${PROPERTY_IDS[0]}..${PROPERTY_IDS.at(-1)})`}`);
}
