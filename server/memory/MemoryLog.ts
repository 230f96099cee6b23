import type { Log } from '../ports/Log.ts';

/** Keeps records in memory: for tests, and for hosts that ship them elsewhere. */
export class MemoryLog implements Log {
  readonly records: Array<{ event: string; fields: Readonly<Record<string, string | number>> }> = [];

  error(event: string, fields: Readonly<Record<string, string | number>>): void {
    this.records.push({ event, fields: { ...fields } });
  }
}
