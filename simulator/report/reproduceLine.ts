/**
 * The one builder of the reproduce line (`chatsim run`, the swarm, the shrinker): the command that
 * reruns a run, with every flag that changes what runs and nothing about where results go.
 */

/** The `chatsim run` flags a reproduce line repeats (a subset of the command's options). */
export interface ReproduceFlags {
  engine?: 'live' | 'sim';
  phones?: number;
  /** ms */
  duration?: number;
  /** ms */
  heal?: number;
  target?: string;
  /** A driver name or module path (`--driver`). */
  driver?: string;
  injectBug?: string[];
  checks?: 'core' | 'all';
  workers?: number;
  processes?: 'single' | 'multi';
  redis?: string;
  cassandra?: string;
}

/** What of the scenario as it ran the line states: the engine, the seed (drawn when no --seed), the processes. */
export interface ReproducedScenario {
  engine: string;
  seed: number;
  cluster: { processes: string };
}

/** The command that reruns this run: every flag that changes what runs (not where results go). */
export function reproduceLine(file: string, scenario: ReproducedScenario, opts: ReproduceFlags): string {
  const parts = [`chatsim run ${file}`];
  // The engine as it ran: `--engine live` too when it overrode a file that says sim.
  if (scenario.engine === 'sim' || opts.engine !== undefined) parts.push(`--engine ${scenario.engine}`);
  parts.push(`--seed ${scenario.seed}`);
  if (opts.phones) parts.push(`--phones ${opts.phones}`);
  if (opts.duration !== undefined) parts.push(`--duration ${opts.duration}ms`);
  if (opts.heal !== undefined) parts.push(`--heal ${opts.heal}ms`);
  if (opts.target) parts.push(`--target ${opts.target}`);
  if (opts.driver) parts.push(`--driver ${opts.driver}`);
  for (const bug of opts.injectBug ?? []) parts.push(`--inject-bug ${bug}`);
  if (opts.checks === 'core') parts.push('--checks core');
  if (opts.workers !== undefined) parts.push(`--workers ${opts.workers}`);
  if (opts.processes || opts.redis || opts.cassandra) parts.push(`--processes ${scenario.cluster.processes}`);
  if (opts.redis) parts.push(`--redis ${opts.redis}`);
  if (opts.cassandra) parts.push(`--cassandra ${opts.cassandra}`);
  return parts.join(' ');
}
