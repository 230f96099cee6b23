import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { HistoryEvent } from './HistoryEvent.ts';

/** Writes a run's history as gzipped JSON lines, one event a line, in the order given. */
export async function writeHistory(events: HistoryEvent[], path: string): Promise<void> {
  const lines = (function* () {
    for (const e of events) yield JSON.stringify(e) + '\n';
  })();
  await pipeline(Readable.from(lines), createGzip(), createWriteStream(path));
}

/**
 * One history of the events recorded in this process and the JSON-lines files of others (the
 * live engine's phone workers), ordered by time. The sort is stable: events of one millisecond
 * keep the order they were recorded in, `recorded` first, then each file's in file order.
 */
export async function mergeHistories(recorded: HistoryEvent[], paths: readonly string[]): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [...recorded];
  for (const path of paths) {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) if (line) events.push(JSON.parse(line) as HistoryEvent);
  }
  return events.sort((a, b) => a.t - b.t);
}
