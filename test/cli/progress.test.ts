// The progress line of `chatsim run` (bin/progress.ts): on a terminal one line rewritten in
// place that fits its width, with the delivery p99; elsewhere plain lines; NO_COLOR respected.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressView, type ProgressStream } from '../../bin/progress.ts';
import type { RunProgress } from '../../simulator/report/RunProgress.ts';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;
const ESC = '\u001b';
/** Every escape sequence: CSI (colour, erase, cursor) and the synchronized-output toggles. */
const ANSI = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g');
const SGR = new RegExp(`${ESC}\\[[0-9;]*m`);

function fakeTerminal(columns: number | undefined, isTTY: boolean): ProgressStream & { text: string } {
  const stream = new Writable({ write(chunk, _encoding, done) { stream.text += String(chunk); done(); } }) as Writable & ProgressStream & { text: string };
  stream.text = '';
  stream.isTTY = isTTY;
  if (columns !== undefined) stream.columns = columns;
  stream.rows = 24;
  return stream;
}

function tick(second: number, extra: Partial<RunProgress> = {}): RunProgress {
  return {
    elapsedMs: second * 1000, phase: second < 8 ? 'load' : 'heal', phones: 20_000, connected: 19_000 + second, sent: 100_000 * second, acked: 99_000 * second,
    delivered: 1_000_000 * second, errors: 12_345 * second, ackP99Ms: 95, deliveryP99Ms: 1840, ...extra,
  };
}

/** The visible lines a terminal would keep, frame by frame: escape sequences out, split at newlines. */
function visibleLines(text: string): string[] {
  return text.replace(ANSI, '').split(/\r?\n/).filter((l) => l !== '');
}

describe('progress on a terminal', () => {
  it('rewrites one line in place, never wider than the terminal, with the delivery p99', () => {
    const term = fakeTerminal(80, true);
    const view = createProgressView(term, { quiet: false, env: {} });
    for (let s = 1; s <= 10; s++) view.update(tick(s));
    view.done();
    const lines = visibleLines(term.text);
    expect(lines).toHaveLength(10);
    for (const line of lines) {
      expect(line.length, line).toBeLessThanOrEqual(79);
      expect(line).toMatch(/^\[\d+s\] {2}(load|heal) {2}phones \d+\/20000 .*p99 delivery 1\.84s/);
    }
    // Each frame after the first erases the one before (log-update: erase line, cursor up).
    expect(term.text.split(`${ESC}[1A`).length - 1).toBe(9);
    expect(term.text).toMatch(SGR); // colour: no NO_COLOR here
    // done(): the last frame stays and ends its line.
    expect(term.text.replace(ANSI, '').endsWith('\n')).toBe(true);
  });

  it('fits every frame to the width at that moment when the window is resized', () => {
    const term = fakeTerminal(120, true);
    const view = createProgressView(term, { quiet: false, env: { NO_COLOR: '1' } });
    const widths = [120, 80, 60, 40, 100, 30];
    let written = 0;
    for (const [i, columns] of widths.entries()) {
      term.columns = columns;
      view.update(tick(i + 1));
      const frame = visibleLines(term.text.slice(written)).at(-1)!;
      written = term.text.length;
      expect(frame.length, `${columns}: ${frame}`).toBeLessThanOrEqual(columns - 1);
    }
  });

  it('has no colour when NO_COLOR is set, and log lines go above the live line', () => {
    const term = fakeTerminal(80, true);
    const view = createProgressView(term, { quiet: false, env: { NO_COLOR: '1' } });
    view.update(tick(1));
    view.log('fault restart-chat-servers at 2000 ms');
    view.update(tick(2));
    view.done();
    expect(term.text).not.toMatch(SGR);
    const lines = visibleLines(term.text);
    expect(lines.filter((l) => l.startsWith('fault'))).toEqual(['fault restart-chat-servers at 2000 ms']);
    expect(lines.at(-1)).toMatch(/^\[2s\]/);
  });

  it('takes a terminal that reports no size as 80 columns (it still draws)', () => {
    const term = fakeTerminal(undefined, true);
    term.rows = 0;
    const view = createProgressView(term, { quiet: false, env: {} });
    view.update(tick(1));
    const lines = visibleLines(term.text);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThanOrEqual(79);
  });
});

describe('progress elsewhere', () => {
  it('prints the whole line every 5 s, plain, one per line, with no escape sequence', () => {
    const log = fakeTerminal(undefined, false);
    const view = createProgressView(log, { quiet: false, env: {} });
    for (let s = 1; s <= 12; s++) view.update(tick(s));
    view.done();
    expect(log.text).not.toContain(ESC);
    const lines = log.text.split('\n').filter((l) => l !== '');
    expect(lines.map((l) => l.slice(0, l.indexOf(']') + 1))).toEqual(['[1s]', '[6s]', '[11s]']);
    expect(lines[0]).toContain('sent 100000 (');
    expect(lines[1]).toContain('sent 600000 (100000/s)'); // over the 5 s since the line before
    expect(lines[0]).toContain('p99 delivery 1.84s  ack 95ms  errors 12345');
  });

  it('prints nothing when quiet', () => {
    const log = fakeTerminal(80, true);
    const view = createProgressView(log, { quiet: true, env: {} });
    view.update(tick(1));
    view.done();
    expect(log.text).toBe('');
  });
});

describe('chatsim run in a pseudo-terminal', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.runIf(hasScript)('draws the live line in place at 80 columns and ends with the summary', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatsim-pty-'));
    const typescript = join(dir, 'typescript');
    const command = `stty cols 80 rows 24; ${process.execPath} ${bin} run ${tiny} --engine sim --dir ${join(dir, 'run')}`;
    const result = spawnSync('script', ['-qec', command, typescript], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 110_000 });
    expect(result.status, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain(`${ESC}[2K${ESC}[1A`);
    expect(out).not.toMatch(SGR);
    const frames = visibleLines(out).filter((l) => /^\[\d/.test(l));
    expect(frames.length).toBeGreaterThanOrEqual(5);
    for (const frame of frames) {
      expect(frame.length, frame).toBeLessThanOrEqual(79);
      expect(frame).toMatch(/p99 delivery (\d|-)/);
    }
    expect(out).toContain('PASS');
  });
});
