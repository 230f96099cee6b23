/**
 * The one duration syntax of chatsim, in scenario files and on the command line alike: a
 * number with a unit (`500ms`, `30s`, `2m`, `1.5h`), or a bare number, which is milliseconds
 * (`2` is 2 ms, as in YAML `durationMs: 2`).
 */
export type ParsedDuration = { ok: true; ms: number } | { ok: false; message: string };

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

export function parseDuration(value: unknown): ParsedDuration {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? { ok: true, ms: Math.round(value) } : { ok: false, message: `not a duration: ${value}` };
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(value));
  if (!match) return { ok: false, message: `expected a duration like 500ms, 30s, 2m or a bare number of ms; got "${String(value)}"` };
  return { ok: true, ms: Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS]) };
}
