import { ackBeforePersist } from './ackBeforePersist.ts';
import { cursorOvershoot } from './cursorOvershoot.ts';
import { ignorePresenceGaps } from './ignorePresenceGaps.ts';
import { noDedupe } from './noDedupe.ts';
import { noPresenceDebounce } from './noPresenceDebounce.ts';
import { noPresenceReregister } from './noPresenceReregister.ts';
import { presenceWallClock } from './presenceWallClock.ts';
import { readRewritesMessage } from './readRewritesMessage.ts';
import { reuseConnectionIds } from './reuseConnectionIds.ts';
import { routeToEveryGateway } from './routeToEveryGateway.ts';
import { snowflakeIds } from './snowflakeIds.ts';
import { stalePresenceTtl } from './stalePresenceTtl.ts';
import { staleRosterCache } from './staleRosterCache.ts';
import { syncOffByOne } from './syncOffByOne.ts';
import { ticksSkipJoiners } from './ticksSkipJoiners.ts';
import { tokenSyncOffByOne } from './tokenSyncOffByOne.ts';

/**
 * Deliberate defects that can be switched on in the reference server or the virtual phone,
 * so the checkers can be proven to catch them (a checker that never fails proves nothing).
 * A server bug is harness equipment: a wrapper or policy applied to the correct parts when a
 * node is assembled (one file per bug in this folder, with its catalogue entry; see
 * ServerBug.ts), so production code carries no bug branch. An empty set is the correct
 * system, unchanged.
 */

export const BUG_NAMES = [
  'ack-before-persist',
  'no-dedupe',
  'snowflake-ids',
  'cursor-overshoot',
  'read-rewrites-message',
  'no-presence-debounce',
  'stale-presence-ttl',
  'route-to-every-gateway',
  'sync-off-by-one',
  'swallow-trailing-receipt',
  'reuse-connection-ids',
  'no-presence-reregister',
  'no-reconnect-on-going-away',
  'render-duplicate-push',
  'render-out-of-order-push',
  'stale-roster-cache',
  'ticks-skip-joiners',
  'fresh-install-stale-watermark',
  'ignore-presence-gaps',
  'token-sync-off-by-one',
  'presence-wall-clock',
  'phone-wall-clock-presence',
  'ack-before-render',
  'ignore-read-markers',
  'resume-without-replay',
] as const;

export type BugName = (typeof BUG_NAMES)[number];

/** The bugs switched on for one run; empty is the correct system. */
export type BugSet = ReadonlySet<BugName>;

export const NO_BUGS: BugSet = new Set<BugName>();

export interface BugEntry {
  readonly name: BugName;
  /** Which side the defect lives in: a driver bug wraps any phone driver (simulator/bugs/driverBugs.ts). */
  readonly where: 'server' | 'phone' | 'driver';
  /**
   * Property ids (shared/PROPERTIES.md) a checker should report as broken once a run
   * exercises the defect (e.g. a chat server restart for ack-before-persist, a lost ACK and
   * retry for no-dedupe). Only the reliable, primary ones; side effects are in the description.
   */
  readonly breaks: readonly string[];
  readonly description: string;
}

export const BUG_CATALOGUE: readonly BugEntry[] = [
  ackBeforePersist.entry,
  noDedupe.entry,
  snowflakeIds.entry,
  cursorOvershoot.entry,
  readRewritesMessage.entry,
  noPresenceDebounce.entry,
  stalePresenceTtl.entry,
  routeToEveryGateway.entry,
  syncOffByOne.entry,
  {
    name: 'swallow-trailing-receipt', where: 'phone', breaks: ['B6'],
    description: 'The phone read-receipt debounce drops the trailing receipt: only the leading one of each burst goes out.',
  },
  reuseConnectionIds.entry,
  noPresenceReregister.entry,
  {
    name: 'no-reconnect-on-going-away', where: 'phone', breaks: ['F1'],
    description: 'The phone takes close code 1001 GOING_AWAY (a gateway draining) as final and never reconnects: it is left disconnected after the heal, missing everything sent after the drain (drain-gateway).',
  },
  {
    name: 'render-duplicate-push', where: 'phone', breaks: ['A4'],
    description: 'The phone renders a pushed message again when it already holds its seq, instead of dropping the duplicate (duplicate-broker-messages).',
  },
  {
    name: 'render-out-of-order-push', where: 'phone', breaks: ['A2'],
    description: 'The phone renders a push above a gap at once instead of holding it until the missing seqs arrive, so a reordered delivery shows out of order (reorder-broker-messages).',
  },
  staleRosterCache.entry,
  ticksSkipJoiners.entry,
  {
    name: 'fresh-install-stale-watermark', where: 'phone', breaks: ['A5'],
    description: 'A freshly installed app (scenario event reinstall-device) starts from the watermarks of the device it replaces, restored from a backup, but holds none of its messages: its first sync asks only for what came after them, so the history below is never shown.',
  },
  ignorePresenceGaps.entry,
  tokenSyncOffByOne.entry,
  presenceWallClock.entry,
  {
    name: 'phone-wall-clock-presence', where: 'phone', breaks: ['D4'],
    description: 'The phone stamps presence pushes and query answers with its wall clock to keep a push over an older answer: after its clock jumps back (a clock-jump of the phones) every answer about a user pushed before the jump looks older and is dropped, so a return or departure it missed while away stays unseen.',
  },  {
    name: 'ack-before-render', where: 'driver', breaks: ['B3'],
    description: 'The phone driver acknowledges a pushed message as it arrives, before the app has it, and then loses it on the way to the app: the sender shows delivered for a message the recipient never received. Also breaks B8 in groups, and C3 when the next push leaves a gap the app fills only by sync.',
  },
  {
    name: 'ignore-read-markers', where: 'driver', breaks: ['B5'],
    description: 'The phone driver drops read receipts from the server (pushed or in a sync page) and keeps delivery receipts, as an XMPP client ignoring XEP-0333 markers would: the sender never shows read.',
  },  {
    name: 'resume-without-replay', where: 'driver', breaks: ['F1'],
    description: 'After a reconnect the phone driver assumes its old stream resumed and never repeats a message an earlier session carried unconfirmed (an XEP-0198 client not replaying unacked stanzas): a send in flight when the link died is never stored and stays pending.',
  },
];

export function isBugName(s: string): s is BugName {
  return (BUG_NAMES as readonly string[]).includes(s);
}

/** Parses a comma-separated list (as a CLI flag gives it); throws on an unknown name. */
export function parseBugSet(text: string): BugSet {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = names.filter((n) => !isBugName(n));
  if (unknown.length > 0) throw new Error(`unknown bug(s): ${unknown.join(', ')} (known: ${BUG_NAMES.join(', ')})`);
  return new Set(names as BugName[]);
}

/** A plain text table of the catalogue, for `chatsim bugs`. */
export function describeBugs(): string {
  const rows = BUG_CATALOGUE.map((b) => [b.name, b.where, b.breaks.join(','), b.description]);
  const header = ['name', 'where', 'breaks', 'description'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w)).concat('-'.repeat(11))), ...rows.map(line)].join('\n') + '\n';
}
