import { BUG_CATALOGUE, isBugName, type BugName } from '../../server/bugs/BugCatalogue.ts';
import { didYouMean } from './didYouMean.ts';
import type { ScenarioError } from './ScenarioError.ts';
import { parseThreshold, type Threshold } from './thresholds.ts';

/** A scenario's thresholds and bugs as the run uses them: parsed once, by the loader. */
export interface NamedLists {
  /** Each keeps the text as written (`text`) for the reports. */
  thresholds: Threshold[];
  bugs: BugName[];
}

/**
 * Parses the schema-valid `thresholds` and `bugs` of a scenario. Every entry that does not
 * parse is an error at its path; the lists hold only the entries that do, so a scenario with
 * errors is never run (loadScenario returns the errors instead).
 */
export function parseNamedLists(thresholdTexts: readonly string[], bugNames: readonly string[]): { lists: NamedLists; errors: ScenarioError[] } {
  const errors: ScenarioError[] = [];
  const thresholds: Threshold[] = [];
  thresholdTexts.forEach((text, i) => {
    const parsed = parseThreshold(text);
    if (parsed.ok) thresholds.push(parsed.threshold);
    else errors.push({ path: `thresholds[${i}]`, message: parsed.message });
  });
  const bugs: BugName[] = [];
  bugNames.forEach((bug, i) => {
    if (isBugName(bug)) bugs.push(bug);
    else errors.push({ path: `bugs[${i}]`, message: `unknown bug "${bug}"${unknownBugHint(bug) || '; `chatsim bugs` lists them'}` });
  });
  return { lists: { thresholds, bugs }, errors };
}

/** " (did you mean X?)" for a name close to a catalogued bug, else ''. */
export function unknownBugHint(name: string): string {
  return didYouMean(name, BUG_CATALOGUE.map((b) => b.name));
}
