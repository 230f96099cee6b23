// The default Log: one JSON line per record on stderr, with the wall-clock time, so a
// process's incidents land wherever its supervisor or terminal keeps stderr.
import type { Log } from '../ports/Log.ts';

/** Longest field value written, in characters (an error message may quote anything). */
const FIELD_CHARS_MAX = 2_000;

export function createStderrLog(source: string): Log {
  return {
    error(event, fields) {
      try {
        const bounded: Record<string, string | number> = {};
        for (const [name, value] of Object.entries(fields)) bounded[name] = typeof value === 'string' ? value.slice(0, FIELD_CHARS_MAX) : value;
        process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), level: 'error', source, event, ...bounded })}\n`);
      } catch {
        // A log that cannot be written must not take the caller down with it.
      }
    },
  };
}
