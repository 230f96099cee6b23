import type { PropertySummary } from './Summary.ts';

/**
 * Failed properties in the order a reader should meet them: causes before symptoms.
 *
 * Most defects show in several properties at once: a sync that skips a message (C1) also
 * leaves a gap (A3), a lost message (A5), a tick that never converges (B5) and an unconverged
 * device after the heal (F1). The precise, local properties name the event that went wrong;
 * the convergence and aggregate ones only say that the end state is wrong. So the precise
 * ones come first, in the order the path of a message runs (store, order, sync, receipts,
 * presence, typing), then the end-state ones, then the metrics.
 */
const CAUSE_ORDER: readonly string[] = [
  // The store and the order it assigns.
  'B2', 'A1', 'A4', 'A7', 'A6', 'A8', 'A9',
  // Sync and the seam between sync and push.
  'C1', 'C2', 'C3',
  // What a device renders and leaks.
  'A2', 'A10',
  // Receipts and ticks, event by event.
  'B1', 'B3', 'B4', 'B6', 'B7',
  // Presence and typing, event by event.
  'D1', 'D2', 'D3', 'D5', 'D6', 'D7', 'E1',
  // End states: symptoms of the above when those fail too.
  'A3', 'A5', 'B8', 'B5', 'D4', 'F1',
  // Metrics.
  'A11', 'F2',
];

function rankOf(id: string): number {
  const rank = CAUSE_ORDER.indexOf(id);
  return rank < 0 ? CAUSE_ORDER.length : rank;
}

export interface RootCause {
  /** The failed property that most likely explains the others, with one example. */
  lead: { property: PropertySummary; example: string | null };
  /** The other failed properties, causes first, each with its first example that no earlier property already showed. */
  others: Array<{ property: PropertySummary; example: string | null }>;
}

/** Failed properties ordered causes first (stable for ids the table does not know: last, in their order). */
export function failuresCausesFirst(properties: readonly PropertySummary[]): PropertySummary[] {
  return properties
    .map((property, index) => ({ property, index }))
    .filter(({ property }) => property.verdict === 'fail')
    .sort((a, b) => rankOf(a.property.id) - rankOf(b.property.id) || a.index - b.index)
    .map(({ property }) => property);
}

/**
 * The run's root cause as the report leads with it: one example per distinct cause. An
 * example text another property already showed (several checkers explain one event the same
 * way) is not repeated; the property's next example is shown instead, or none.
 */
export function rootCauseOf(properties: readonly PropertySummary[]): RootCause | undefined {
  const failed = failuresCausesFirst(properties);
  if (failed.length === 0) return undefined;
  const shown = new Set<string>();
  const pick = (property: PropertySummary): { property: PropertySummary; example: string | null } => {
    const example = property.examples.find((e) => !shown.has(exampleKey(e))) ?? null;
    if (example !== null) shown.add(exampleKey(example));
    return { property, example };
  };
  const [first, ...rest] = failed;
  return { lead: pick(first!), others: rest.map(pick) };
}

/**
 * What makes two examples the same case: aggregate properties quote another's example behind
 * its id ("A5: d:u14:u23 seq 1 ... never rendered"), so that prefix does not count.
 */
export function exampleKey(example: string): string {
  return example.replace(/^[A-F]\d+: /, '');
}

/** The command that shrinks a failed run to a small case, for the report and the terminal. */
export function shrinkCommand(runDir: string): string {
  return `chatsim shrink ${/\s/.test(runDir) ? JSON.stringify(runDir) : runDir}`;
}
