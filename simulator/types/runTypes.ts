/**
 * The types every part of a run shares (engines, checkers, history, metrics, reports): a leaf
 * module, importing nothing of the simulator, so no folder needs another only for a type.
 * RunProgress lives in report/RunProgress.ts and FaultWindow in history/FaultWindow.ts.
 */

/** What the checkers know of the run besides the history: who was in which chat, which devices exist. */
export interface RunFacts {
  chatMembers: Map<string, string[]>;
  devicesOfUser: Map<string, string[]>;
  /** user -> friends, when the run knows them (who may see whose presence). */
  friendsOfUser?: Map<string, string[]>;
  /** device ("u1/d1") -> its network profile's name (for tagged metrics; the checkers do not read it). */
  profileOfDevice?: Map<string, string>;
  /** Store ground truth after the run: chat -> seq -> stored clientMsgId (B2). */
  persisted?: Map<string, Map<number, string>>;
  /** What the phones' driver carries (simulator/drivers); absent: everything (chatsim.v1). */
  driverCapabilities?: DriverCapabilities;
  /** The run's group chats (ids as in the history); absent: none known (every chat judged alike). */
  groupChats?: ReadonlySet<string>;
}

/** A stretch of the run, ms since t = 0. */
export interface RunPhase {
  name: 'ramp' | 'load' | 'heal';
  startMs: number;
  endMs: number;
}

export interface BuildInfo {
  /** package.json's version. */
  version: string;
  /** The git commit chatsim ran from, when it runs from a checkout. */
  commit?: string;
  /** When the run finished, ISO 8601 UTC. */
  finishedAt: string;
}

/** One property's verdict on a run (simulator/check). */
export interface PropertyResult {
  id: string;
  name: string;
  verdict: 'pass' | 'fail' | 'unknown';
  violations: number;
  /** The worst examples, explained from the events themselves. */
  examples: string[];
  reason?: string;
  /** On failures: the seed and the command that replays the run. */
  reproduce?: string;
}

/**
 * One guarantee or feature a phone driver may or may not carry:
 * - `serverOrder`: the server assigns each message a position in its chat (a per-chat seq).
 * - `receipts`: delivery receipts flow back to the sender (ticks).
 * - `readMarkers`: read receipts / markers flow back to the sender.
 * - `presence`: friends' online state can be queried and is pushed.
 * - `typing`: typing notices flow.
 * - `syncFromPosition`: a device can ask for everything after a position it holds.
 * - `idempotentSend`: a repeated send with the same client id is stored once.
 */
export type DriverCapability = 'serverOrder' | 'receipts' | 'readMarkers' | 'presence' | 'typing' | 'syncFromPosition' | 'idempotentSend';

/**
 * Every capability, declared true or false by a driver, for 1:1 chats and, unless `groups` says
 * otherwise, for group chats too. `groups`: `false` when the driver carries no group chats at
 * all; otherwise the capabilities that differ in group chats (XMPP: no receipts or read markers
 * in MUC rooms). Checkers judge a property that needs one of those on the 1:1 chats only, and
 * say so in its reason (simulator/check/checkAll.ts).
 */
export type DriverCapabilities = Readonly<Record<DriverCapability, boolean>> & {
  readonly groups?: false | Readonly<Partial<Record<DriverCapability, boolean>>>;
};
