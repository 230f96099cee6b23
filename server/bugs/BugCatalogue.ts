/**
 * Deliberate defects that can be switched on in the reference server or the virtual phone,
 * so the checkers can be proven to catch them (a checker that never fails proves nothing).
 * Each bug is one narrow, named branch at exactly the defect point; an empty set is the
 * correct system, unchanged.
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

/** Bugs that live in the memory message store: a cluster on another store (Cassandra) cannot have them. */
export const STORE_BUGS: readonly string[] = ['no-dedupe', 'read-rewrites-message'] satisfies readonly BugName[];

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
  {
    name: 'ack-before-persist', where: 'server', breaks: ['B2', 'A5'],
    description: 'The chat server acks `sent` at once with a promised seq and buffers the write for 1 s (fan-out waits for the flush); a chat server stop or crash drops the unflushed buffer. Two servers may promise the same seq.',
  },
  {
    name: 'no-dedupe', where: 'server', breaks: ['A4'],
    description: 'The message store skips its idempotency check: a retried clientMsgId is stored again under a new seq and acked with it, instead of returning the original.',
  },
  {
    name: 'snowflake-ids', where: 'server', breaks: ['C1', 'A5', 'A3'],
    description: 'Each chat server stamps msgIds from its own clock, skewed by up to ±400 ms (drawn from its id), and watermark sync returns only messages whose msgId sorts after the watermark message\'s: a message stored "behind" the watermark is never synced.',
  },
  {
    name: 'cursor-overshoot', where: 'server', breaks: ['B3', 'B8'],
    description: 'A delivery ack moves the delivered cursor to the chat head instead of upTo, claiming delivery of messages the recipient never received.',
  },
  {
    name: 'read-rewrites-message', where: 'server', breaks: ['B5', 'B7'],
    description: 'A read (standalone or piggybacked) rewrites the message row at upTo, appending " [read by <reader>]" to its body, instead of moving the read cursor: senders never get a read tick (B5, B7 when the read rode on a typing frame). Syncs also return a changed body for the same seq, which no checker sees: histories record ids, not bodies.',
  },
  {
    name: 'no-presence-debounce', where: 'server', breaks: ['D1', 'D6'],
    description: 'Offline is broadcast to friends the moment the last connection drops, with no 30 s debounce.',
  },
  {
    name: 'stale-presence-ttl', where: 'server', breaks: ['D4', 'D1', 'D5'],
    description: 'Heartbeats and other frames stop refreshing the presence TTL, so connected users expire: friends see them offline and pushes stop reaching them.',
  },
  {
    name: 'route-to-every-gateway', where: 'server', breaks: ['A10'],
    description: 'A message is published to every gateway and delivered to every connection there, members or not.',
  },
  {
    name: 'sync-off-by-one', where: 'server', breaks: ['C1', 'A3', 'A5'],
    description: 'Watermark sync starts one past the watermark, skipping the first message after it.',
  },
  {
    name: 'swallow-trailing-receipt', where: 'phone', breaks: ['B6'],
    description: 'The phone read-receipt debounce drops the trailing receipt: only the leading one of each burst goes out.',
  },
  {
    name: 'reuse-connection-ids', where: 'server', breaks: ['A10'],
    description: 'A gateway that comes back after a crash (kill-gateway) numbers its connections from 1 again: a stale presence entry of the old life routes a member\'s pushes to whoever now holds the same connection id.',
  },
  {
    name: 'no-presence-reregister', where: 'server', breaks: ['D4'],
    description: 'A gateway whose presence refresh finds the entry gone (the presence store restarted empty: restart-presence-store) does not write it again: its connected users stay invisible, shown offline to friends and missed by pushes.',
  },
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
  {
    name: 'stale-roster-cache', where: 'server', breaks: ['A10'],
    description: 'Each chat server caches the roster it fans a chat\'s messages out to and only ever adds to it: a member who left or was kicked (scenario events leave-group, kick-member) keeps getting the group\'s messages.',
  },
  {
    name: 'ticks-skip-joiners', where: 'server', breaks: ['B8'],
    description: 'Group ticks are computed over the founding members only: a member who joined a chat that already had messages (joinedAtSeq above 0; scenario event join-group) is left out, so senders see delivered and read before the joiner has the message.',
  },
  {
    name: 'fresh-install-stale-watermark', where: 'phone', breaks: ['A5'],
    description: 'A freshly installed app (scenario event reinstall-device) starts from the watermarks of the device it replaces, restored from a backup, but holds none of its messages: its first sync asks only for what came after them, so the history below is never shown.',
  },
  {
    name: 'ignore-presence-gaps', where: 'server', breaks: ['D3'],
    description: 'A gateway reads the numbers of the presence pushes on its channel but does not act on a gap: a friend\'s online lost by the broker (lose-broker-messages, lose-broker-channel) stays unseen until the observer next asks.',
  },
  {
    name: 'token-sync-off-by-one', where: 'server', breaks: ['C2'],
    description: 'Token sync reads the inbox from one past the token\'s position, so the first event after every non-empty token falls between two tokens (devices that sync by token: population.tokenSyncShare).',
  },
  {
    name: 'presence-wall-clock', where: 'server', breaks: ['D1'],
    description: 'A chat server answers presence queries by subtracting the store\'s last-disconnect stamp from its own wall clock instead of taking the age the store measured: once its clock is ahead (clocks.chatServerSkewMs, a clock-jump forward) a user inside the debounce window is answered offline.',
  },
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
