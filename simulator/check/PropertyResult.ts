import type { RunFacts } from '../types/runTypes.ts';

export type { RunFacts };
export interface PropertyResult {
  id: string;
  name: string;
  verdict: 'pass' | 'fail' | 'unknown';
  violations: number;
  /** The worst examples, explained from the events themselves. */
  examples: string[];
  reason?: string;
  /** On failures: the seed and the command that replays the run. */
  reproduce?: string;
}

