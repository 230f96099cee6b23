/**
 * Edit distance between two strings (optimal string alignment: insertions, deletions,
 * substitutions and swaps of two neighbours each cost 1), so `phonse` is 1 from `phones`.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name nearest to `given` by edit distance (case ignored), when it is near enough
 * to be a typo: at most a third of the longer name's letters away (at least 1, at most 3).
 * Ties go to the first in `known`. Undefined when nothing is that near.
 */
export function nearest(given: string, known: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    if (name === given) continue;
    const distance = editDistance(given.toLowerCase(), name.toLowerCase());
    const allowed = Math.min(3, Math.max(1, Math.floor(Math.max(given.length, name.length) / 3)));
    if (distance <= allowed && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** ` did you mean "x"?` for a near name, else ''. */
export function didYouMean(given: string, known: Iterable<string>): string {
  const name = nearest(given, known);
  return name === undefined ? '' : `; did you mean "${name}"?`;
}
