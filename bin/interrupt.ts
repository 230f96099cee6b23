import { runInterruptCleanups } from '../simulator/engine/interruptCleanups.ts';

/**
 * SIGINT / SIGTERM during a command: release what the run started (simulator/engine/
 * interruptCleanups.ts), then exit 130 (SIGINT) or 143 (SIGTERM), as shells report a process
 * ended by the signal. A second signal exits at once.
 */
export function exitCleanlyOnInterrupt(command: string): void {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (interrupted) process.exit(code);
    interrupted = true;
    console.error(`\nchatsim ${command}: ${signal}: stopping the cluster and releasing what it provisioned (send it again to quit at once)`);
    void runInterruptCleanups().finally(() => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
