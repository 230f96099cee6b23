// The checkers' verdict and the run facts they read live in the leaf simulator/types/runTypes.ts.
export type { PropertyResult, RunFacts } from '../types/runTypes.ts';
