import type { DriverCapabilities } from '../drivers/DriverCapabilities.ts';

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
}
