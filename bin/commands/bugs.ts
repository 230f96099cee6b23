import type { Command } from 'commander';
import { BUG_CATALOGUE, describeBugs } from '../../server/bugs/BugCatalogue.ts';

/** `chatsim bugs`: the catalogue of injectable defects and the properties each one breaks. */
export function registerBugs(program: Command, setExit: (code: number) => void): void {
  program
    .command('bugs')
    .description('list the deliberate defects `chatsim run --inject-bug NAME` can turn on, and what each breaks')
    .option('--json', 'print the catalogue as JSON')
    .action((opts: { json?: boolean }) => {
      console.log(opts.json ? JSON.stringify(BUG_CATALOGUE, null, 2) : describeBugs());
      setExit(0);
    });
}
