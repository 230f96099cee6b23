/**
 * The types every part of a run shares (engines, checkers, history, metrics, reports): a leaf
 * module, importing nothing of the simulator, so no folder needs another only for a type.
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

export interface RunProgress {
  elapsedMs: number;
  phase: 'setup' | 'load' | 'heal' | 'collect';
  phones: number;
  connected: number;
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  /** p99 of sendToAck over the last LIVE_LATENCY_WINDOW_MS (simulator/engine/liveLatency.ts), ms; null without samples. */
  ackP99Ms?: number | null;
  /** p99 from the server storing a message to its render by push, over the same window, ms; null without samples. */
  deliveryP99Ms?: number | null;
}

export interface FaultWindow {
  kind: string;
  startMs: number;
  endMs: number;
  /** What happened, for people: "chat servers restarted (graceful)", "gateway 1 partitioned". */
  label?: string;
}
