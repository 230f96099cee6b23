import type { HistoryEvent } from '../history/HistoryEvent.ts';

/** Most lines a timeline prints; a shrunk case needs far fewer. */
export const TIMELINE_LINES_MAX = 400;

/**
 * A readable timeline of a failing case: the events of the devices, users and chats the
 * failure's explanation names (and the harness's faults and link changes for them), one line
 * each, in time order: "  8.651 s  u32/d1   render g:1 seq 3 from u37 (sync)".
 */
export function formatTimeline(events: readonly HistoryEvent[], explanation: string): string {
  const devices = new Set(explanation.match(/\bu\d+\/d\d+\b/g) ?? []);
  const users = new Set(explanation.match(/\bu\d+\b(?!\/)/g) ?? []);
  for (const d of devices) users.add(d.slice(0, d.indexOf('/')));
  const chats = new Set(explanation.match(/\b(?:d:u\d+:u\d+|g:\d+)\b/g) ?? []);
  const lines: string[] = [];
  for (const e of events) {
    if (!concerns(e, devices, users, chats)) continue;
    lines.push(`${(e.t / 1000).toFixed(3).padStart(9)} s  ${e.p.padEnd(8)} ${describe(e)}`);
    if (lines.length >= TIMELINE_LINES_MAX) {
      lines.push(`(cut at ${TIMELINE_LINES_MAX} lines)`);
      break;
    }
  }
  return lines.join('\n');
}

function concerns(e: HistoryEvent, devices: Set<string>, users: Set<string>, chats: Set<string>): boolean {
  if (e.type === 'oracle') {
    if (e.what === 'fault-start' || e.what === 'fault-end' || e.what === 'phase') return true;
    if (e.what === 'link-up' || e.what === 'link-down' || e.what === 'link-dial') return devices.has(e.device) || users.has(userOf(e.device));
    return false;
  }
  const user = userOf(e.p);
  if (!users.has(user) && !devices.has(e.p)) return false;
  const chat = (e as { chat?: string }).chat;
  // A named user's events in other chats are noise, unless the explanation names no chat.
  return chat === undefined || chats.size === 0 || chats.has(chat);
}

function describe(e: HistoryEvent): string {
  const { t: _t, p: _p, type, ...rest } = e as HistoryEvent & Record<string, unknown>;
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return `${type}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}`;
}

function userOf(device: string): string {
  const slash = device.indexOf('/');
  return slash < 0 ? device : device.slice(0, slash);
}
