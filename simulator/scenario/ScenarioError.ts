/** One problem with a scenario file: the field (dotted path, `network[1].share`) and why. */
export interface ScenarioError {
  path: string;
  message: string;
  /** Where in the file, 1-based, when the field (or the nearest section holding it) is in the file; a field set by a flag has none. */
  line?: number;
  col?: number;
  /** A stable code where one applies (CONTRADICTORY_LIMITS); schema and syntax errors have none. */
  code?: string;
}

/**
 * One line per problem, compiler style, for a terminal or an editor to jump to:
 * `file:line:col: path: message` (the position when known, the path when there is one).
 */
export function formatScenarioError(file: string, error: ScenarioError): string {
  const where = error.line !== undefined ? `${file}:${error.line}:${error.col ?? 1}` : file;
  return `${where}: ${error.path ? `${error.path}: ` : ''}${error.code ? `[${error.code}] ` : ''}${error.message}`;
}
