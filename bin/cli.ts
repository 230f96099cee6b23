// The chatsim CLI. Each command returns its exit code (documented in docs/cli.md).
import { Command, CommanderError } from 'commander';

export const EXIT = { ok: 0, propertyFailed: 1, thresholdFailed: 2, runFailed: 3, usage: 64 } as const;

export async function main(argv: string[]): Promise<number> {
  const { buildInfo } = await import('../simulator/runtime/buildInfo.ts');
  const build = buildInfo();
  const program = new Command('chatsim')
    .description('Load-testing and simulation harness for real-time chat systems')
    .version(`${build.version}${build.commit ? ` (${build.commit})` : ''}`, '-V, --version', 'print the chatsim version (and the git commit it runs from)')
    .exitOverride()
    // One line per error: commander's own ("error: unknown option '--sead'" and, on a line of
    // its own, "(Did you mean --seed?)") joined and named after chatsim.
    .configureOutput({ outputError: (text, write) => write(oneLineError(text)) });
  let exitCode: number = EXIT.ok;
  const { registerServe } = await import('./commands/serve.ts');
  const setExit = (code: number): void => { exitCode = code; };
  registerServe(program, setExit);
  const { registerRun } = await import('./commands/run.ts');
  registerRun(program, setExit);
  const { registerCheck } = await import('./commands/check.ts');
  registerCheck(program, setExit);
  const { registerBugs } = await import('./commands/bugs.ts');
  registerBugs(program, setExit);
  (await import('./commands/schema.ts')).registerSchema(program, setExit);
  (await import('./commands/sim.ts')).registerSim(program, setExit);
  (await import('./commands/shrink.ts')).registerShrink(program, setExit);
  (await import('./commands/compare.ts')).registerCompare(program, setExit);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw error;
  }
  return exitCode;
}

/** `error: unknown option '--sead'\n(Did you mean --seed?)\n` -> `chatsim: unknown option '--sead'; did you mean --seed?\n`. */
export function oneLineError(text: string): string {
  const joined = text.trim().replace(/\n\(Did you mean (.+?)\?\)/g, '; did you mean $1?').replace(/\s*\n\s*/g, ' ');
  return `${joined.replace(/^error: /, 'chatsim: ')}\n`;
}
