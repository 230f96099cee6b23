export interface PropertyResult {
  id: string;
  name: string;
  verdict: 'pass' | 'fail' | 'unknown';
  violations: number;
  /** The worst examples, explained from the events themselves. */
  examples: string[];
  reason?: string;
}

/** What the checkers know of the run besides the history: who was in which chat, which devices exist. */
export interface RunFacts {
  chatMembers: Map<string, string[]>;
  devicesOfUser: Map<string, string[]>;
}
