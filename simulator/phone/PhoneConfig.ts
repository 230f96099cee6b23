// What a phone is made of (PhoneConfig) and what it shows of itself (PhoneState).
import type { Clock, TimeSource } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { PhoneDriver } from '../drivers/PhoneDriver.ts';
import type { HistoryRecorder } from '../history/HistoryEvent.ts';
import type { MetricsSink } from '../metrics/MetricsSink.ts';
import type { PhoneOptions } from './PhoneOptions.ts';

export interface PhoneChat {
  id: string;
  kind: 'direct' | 'group';
  members: string[];
}

export interface PhoneConfig {
  user: string;
  device: string;
  token: string;
  /** Endpoints the driver connects to, tried in a ring (gateway URLs for chatsim.v1). */
  gatewayUrls: string[];
  chats: PhoneChat[];
  friends: string[];
  /** The wire protocol (simulator/drivers): chatsim.v1 (ChatsimV1Driver) or another. */
  driver: PhoneDriver;
  time: TimeSource;
  random: Random;
  history: HistoryRecorder;
  metrics: MetricsSink;
  /** Run start on `time`; history `t` is measured from here. */
  startMs: number;
  options?: Partial<PhoneOptions>;
  /**
   * How this device catches up (docs/protocol.md section 6): `watermark` (default) sends the
   * last seq held per chat; `token` chains the sync tokens of its user's inbox (C2 judges it).
   */
  syncMode?: 'watermark' | 'token';
  /**
   * The device's wall clock (default: `time`): what the phone shows as the time, which may be
   * skewed or jump (scenario clocks, clock-jump). Every timeout, backoff and elapsed time runs
   * on `time`, which is monotonic.
   */
  wallClock?: Clock;
}

/** Connection lifecycle. `syncing`: hello received, catching up; `ready`: sends flow. */
export type PhonePhase = 'idle' | 'connecting' | 'syncing' | 'ready' | 'backoff' | 'closed' | 'stopped';

export interface PhoneState {
  connected: boolean;
  phase: PhonePhase;
  gateway: string | undefined;
  /** Own messages without a `sent` ACK yet. */
  pendingSends: number;
  /** Own messages not yet read (pending, sent or delivered). */
  outbox: number;
  foreground: boolean;
  openChat: string | undefined;
  /** Failed connection attempts since the last successful one. */
  reconnectAttempt: number;
}
