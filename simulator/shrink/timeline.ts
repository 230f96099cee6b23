import type { HistoryEvent } from '../history/HistoryEvent.ts';

/** Most lines a timeline prints; a shrunk case needs far fewer. */
export const TIMELINE_LINES_MAX = 400;
/** Past this many lines, only the cited lines with CONTEXT_LINES either side (and faults, phases) are kept. */
export const TIMELINE_LINES_FULL_MAX = 60;
const CONTEXT_LINES = 2;
/** Marks a line the explanation cites. */
export const CITED_MARK = '»';

interface Line { text: string; cited: boolean; always: boolean }

/**
 * A readable timeline of a failing case: the events of the devices, users and chats the
 * failure's explanation names (and the harness's faults and link changes for them), one line
 * each, in time order: "» 8.651 s  u32/d1   render g:1 seq 3 from=u37 via=sync". Lines the
 * explanation cites (a named device's or chat's event at a cited seq) are marked with »;
 * a long timeline keeps only those, a few lines around each, and the faults and phases.
 * Message bodies are left out: they are random text and explain nothing.
 */
export function formatTimeline(events: readonly HistoryEvent[], explanation: string): string {
  const devices = new Set(explanation.match(/\bu\d+\/d\d+\b/g) ?? []);
  const users = new Set(explanation.match(/\bu\d+\b(?!\/)/g) ?? []);
  for (const d of devices) users.add(d.slice(0, d.indexOf('/')));
  const chats = new Set(explanation.match(/\b(?:d:u\d+:u\d+|g:\d+)\b/g) ?? []);
  const seqs = citedSeqs(explanation);
  const times = citedTimesMs(explanation);
  const lines: Line[] = [];
  for (const e of events) {
    if (!concerns(e, devices, users, chats)) continue;
    const text = `${(e.t / 1000).toFixed(3).padStart(9)} s  ${e.p.padEnd(8)} ${describe(e)}`;
    lines.push({ text, cited: cites(e, devices, chats, seqs) || citesTime(e, devices, users, times), always: e.type === 'oracle' && (e.what === 'fault-start' || e.what === 'fault-end' || e.what === 'phase') });
    if (lines.length >= TIMELINE_LINES_MAX) break;
  }
  return render(lines.length > TIMELINE_LINES_FULL_MAX ? trimmed(lines) : lines, lines.length >= TIMELINE_LINES_MAX);
}

/** Seqs the explanation names: "seq 3", "seqs 3-5", "up to 14", "up to seq 0", "watermark 10", "head 19". */
function citedSeqs(explanation: string): Set<number> {
  const seqs = new Set<number>();
  for (const m of explanation.matchAll(/\b(?:seqs?|up to(?: seq)?|watermark|head)\s+(\d+)(?:\s*-\s*(\d+))?/g)) {
    const from = Number(m[1]);
    const to = m[2] !== undefined ? Math.min(Number(m[2]), from + 50) : from;
    for (let n = from; n <= to; n++) seqs.add(n);
  }
  return seqs;
}

/** Times the explanation names ("at 14.680 s"), in ms. */
function citedTimesMs(explanation: string): number[] {
  return [...explanation.matchAll(/\b(\d+\.\d{3}) s\b/g)].map((m) => Math.round(Number(m[1]) * 1000));
}

/** An event of a named device or user at a time the explanation names (presence and typing explanations cite times, not seqs). */
function citesTime(e: HistoryEvent, devices: Set<string>, users: Set<string>, times: readonly number[]): boolean {
  if (times.length === 0) return false;
  const who = e.type === 'oracle' ? ('device' in e ? (e as { device: string }).device : undefined) : e.p;
  if (who === undefined || (!devices.has(who) && !users.has(userOf(who)))) return false;
  return times.some((t) => Math.abs(e.t - t) < 1);
}

function cites(e: HistoryEvent, devices: Set<string>, chats: Set<string>, seqs: Set<number>): boolean {
  if (e.type === 'oracle') return false;
  if (devices.size > 0 && !devices.has(e.p)) return false;
  const fields = e as { chat?: string; seq?: number; upTo?: number; watermarks?: Record<string, number> };
  if (fields.chat !== undefined && chats.size > 0 && !chats.has(fields.chat)) return false;
  if (fields.seq !== undefined) return seqs.has(fields.seq);
  if (fields.upTo !== undefined) return seqs.has(fields.upTo);
  if (fields.watermarks !== undefined) return [...chats].some((c) => fields.watermarks![c] !== undefined && seqs.has(fields.watermarks![c]!));
  return false;
}

function trimmed(lines: Line[]): Line[] {
  const keep = new Set<number>();
  lines.forEach((line, i) => {
    if (line.always) keep.add(i);
    if (line.cited) for (let j = Math.max(0, i - CONTEXT_LINES); j <= Math.min(lines.length - 1, i + CONTEXT_LINES); j++) keep.add(j);
  });
  // Nothing cited (an explanation that names neither a seq nor a time of these events): keep the start, not only the phases.
  if (!lines.some((line) => line.cited)) return lines.slice(0, TIMELINE_LINES_FULL_MAX);
  const out: Line[] = [];
  let skipped = 0;
  lines.forEach((line, i) => {
    if (!keep.has(i)) { skipped++; return; }
    if (skipped > 0) out.push({ text: `          … ${skipped} line${skipped === 1 ? '' : 's'} left out`, cited: false, always: false });
    skipped = 0;
    out.push(line);
  });
  if (skipped > 0) out.push({ text: `          … ${skipped} line${skipped === 1 ? '' : 's'} left out`, cited: false, always: false });
  return out;
}

function render(lines: Line[], cut: boolean): string {
  const out = lines.map((l) => `${l.cited ? CITED_MARK : ' '} ${l.text}`);
  if (cut) out.push(`(cut at ${TIMELINE_LINES_MAX} lines)`);
  return out.join('\n');
}

function concerns(e: HistoryEvent, devices: Set<string>, users: Set<string>, chats: Set<string>): boolean {
  if (e.type === 'oracle') {
    if (e.what === 'fault-start' || e.what === 'fault-end' || e.what === 'phase') return true;
    if (e.what === 'link-up' || e.what === 'link-down' || e.what === 'link-dial' || e.what === 'stall-start' || e.what === 'stall-end') {
      return devices.has(e.device) || users.has(userOf(e.device));
    }
    return false;
  }
  const user = userOf(e.p);
  if (!users.has(user) && !devices.has(e.p)) return false;
  const chat = (e as { chat?: string }).chat;
  // A named user's events in other chats are noise, unless the explanation names no chat.
  return chat === undefined || chats.size === 0 || chats.has(chat);
}

function describe(e: HistoryEvent): string {
  const { t: _t, p: _p, type, body: _body, ...rest } = e as HistoryEvent & Record<string, unknown>;
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : String(v)}`);
  return `${type}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}`;
}

function userOf(device: string): string {
  const slash = device.indexOf('/');
  return slash < 0 ? device : device.slice(0, slash);
}
