import { createLogUpdate } from 'log-update';
import type { RunProgress } from '../simulator/report/RunProgress.ts';
import { progressLine } from '../simulator/report/terminalSummary.ts';

/** How often a plain progress line is printed where stderr is not a terminal (CI logs), ms of the run. */
export const PLAIN_PROGRESS_INTERVAL_MS = 5000;
/** Width assumed for a terminal that does not say (log-update's default too). */
const DEFAULT_COLUMNS = 80;
const DEFAULT_ROWS = 24;

/** What the view writes to: stderr, or a stand-in in tests (a TTY says `isTTY` and its `columns`). */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };

export interface ProgressView {
  /** A progress tick (about once a second of the run). */
  update(p: RunProgress): void;
  /** A log line: printed above the live line, which is drawn again below it. */
  log(line: string): void;
  /** The run is over: the last live line stays on the screen, followed by a newline. */
  done(): void;
}

/**
 * The progress of `chatsim run` on stderr. On a terminal, one line rewritten in place by
 * log-update (it erases the previous frame and hides the cursor meanwhile), fitted to the
 * terminal's width at every tick (progressLine with `columns`), so it never wraps and leaves
 * nothing behind when the window is resized; colour unless NO_COLOR is set. Anywhere else, the
 * whole line every PLAIN_PROGRESS_INTERVAL_MS, plain, one per line. Quiet: nothing but log lines
 * (which the caller silences for --quiet and --json).
 */
export function createProgressView(stream: ProgressStream, options: { quiet: boolean; env: NodeJS.ProcessEnv }): ProgressView {
  if (options.quiet) return { update: () => undefined, log: (line) => stream.write(`${line}\n`), done: () => undefined };
  if (stream.isTTY !== true) {
    let lastPrintedMs = -Infinity;
    return {
      update: (p) => {
        if (p.elapsedMs - lastPrintedMs < PLAIN_PROGRESS_INTERVAL_MS) return;
        lastPrintedMs = p.elapsedMs;
        // Rates over the time since the line before, not over the last tick.
        stream.write(`${progressLine(p)}\n`);
      },
      log: (line) => stream.write(`${line}\n`),
      done: () => undefined,
    };
  }
  const color = !options.env.NO_COLOR;
  // A terminal that reports 0 columns or rows (a pseudo-terminal nobody sized, as under
  // `script`) is taken as 80x24: log-update draws nothing at all into zero rows.
  const sized = {
    isTTY: true,
    get columns(): number { return stream.columns || DEFAULT_COLUMNS; },
    get rows(): number { return stream.rows || DEFAULT_ROWS; },
    write: (chunk: string): boolean => stream.write(chunk),
  } as unknown as NodeJS.WriteStream;
  const live = createLogUpdate(sized, { showCursor: false });
  let frame: string | undefined;
  return {
    update: (p) => {
      frame = progressLine(p, { columns: sized.columns, color });
      live(frame);
    },
    log: (line) => {
      live.clear();
      stream.write(`${line}\n`);
      if (frame !== undefined) live(frame);
    },
    done: () => {
      if (frame !== undefined) live.done();
    },
  };
}
