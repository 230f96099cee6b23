import { createWriteStream, type WriteStream } from 'node:fs';
import type { HistoryEvent, HistoryRecorder } from './HistoryEvent.ts';

/**
 * Appends history events to a JSON-lines file, buffering in memory up to `flushBytes` so a
 * busy worker does one write per batch instead of one per event.
 */
export class JsonlHistoryWriter implements HistoryRecorder {
  private readonly stream: WriteStream;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  eventsWritten = 0;

  constructor(path: string, private readonly flushBytes = 256 * 1024) {
    this.stream = createWriteStream(path, { flags: 'w' });
  }

  record(event: HistoryEvent): void {
    const line = JSON.stringify(event);
    this.buffer.push(line);
    this.bufferedBytes += line.length + 1;
    this.eventsWritten++;
    if (this.bufferedBytes >= this.flushBytes) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    this.stream.write(this.buffer.join('\n') + '\n');
    this.buffer = [];
    this.bufferedBytes = 0;
  }

  async close(): Promise<void> {
    this.flush();
    await new Promise<void>((resolve, reject) => this.stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}
