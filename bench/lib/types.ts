// What a benchmark reports: figures side by side with a ceiling or a peer measured in the
// same run, as ratios (absolute times drift on these shared machines; ratios hold up).

export type Profile = 'quick' | 'full';

export interface Goal {
  op: '>=' | '<=' | '==';
  value: number;
  /** The goal in words, e.g. "at least half the echo server's frames/s". */
  text: string;
}

/** A gate fails only on a large regression: `ratio op floor` must hold, or `npm run bench -- --gate` exits 1. */
export interface Gate {
  op: '>=' | '<=';
  floor: number;
  /** How the floor was chosen, e.g. "half the goal". */
  margin: string;
}

export interface Figure {
  /** Short id, unique in the run (used by the gate and the JSON). */
  id: string;
  label: string;
  ours: number;
  unit: string;
  /** The ceiling or peer measured in the same run, when there is one. */
  peer?: number;
  peerName?: string;
  /** ours / peer, or the figure's own dimensionless ratio (see ratioMeaning). */
  ratio?: number;
  ratioMeaning?: string;
  goal?: Goal;
  /** Whether the goal was met; undefined when there is no goal or it could not be measured. */
  met?: boolean;
  gate?: Gate;
  note?: string;
}

export interface BenchOutcome {
  /** How the figures were measured, in words; written to the JSON. */
  method: string;
  figures: Figure[];
  /** Raw counts behind the figures. */
  details: Record<string, unknown>;
  /** Said plainly when part of the benchmark could not run (e.g. Artillery not installable). */
  notes?: string[];
}

export interface BenchContext {
  profile: Profile;
  log(line: string): void;
}

export interface Benchmark {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

export function meets(goal: Goal | undefined, value: number | undefined): boolean | undefined {
  if (!goal || value === undefined || !Number.isFinite(value)) return undefined;
  if (goal.op === '>=') return value >= goal.value;
  if (goal.op === '<=') return value <= goal.value;
  return Math.abs(value - goal.value) < 1e-9;
}

export function passesGate(gate: Gate, ratio: number | undefined): boolean {
  if (ratio === undefined || !Number.isFinite(ratio)) return false;
  return gate.op === '>=' ? ratio >= gate.floor : ratio <= gate.floor;
}

/** Fills in `met` from `goal` and the ratio. */
export function figure(f: Omit<Figure, 'met'>): Figure {
  return { ...f, met: meets(f.goal, f.ratio) };
}
