import type { PhoneClockSpec } from './clocks.ts';
// Messages between the run's main thread and its phone worker threads.
import type { LoadSpec, NetworkProfileSpec } from '../scenario/Scenario.ts';
import type { EncodedLatencySlice } from './liveLatency.ts';

export interface WorkerPhoneSpec {
  user: string;
  device: string;
  token: string;
  chats: Array<{ id: string; kind: 'direct' | 'group'; members: string[] }>;
  friends: string[];
  profile: NetworkProfileSpec;
  /** When this phone connects, in ms after the run start (closed-model ramp or open-model arrival). */
  startAtMs: number;
  /** How the device syncs (default watermark): population.tokenSyncShare. */
  syncMode?: 'token';
  /** The device's wall clock when it is off (clocks.phoneSkewMs, clock-jump of the phones). */
  clock?: PhoneClockSpec;
}

export interface WorkerInit {
  workerIndex: number;
  seed: number;
  gatewayUrls: string[];
  load: LoadSpec;
  phones: WorkerPhoneSpec[];
  runStartEpochMs: number;
  historyPath: string;
  /** Bugs of the run (server/bugs/BugCatalogue.ts); the phone-side ones apply here. */
  bugs: string[];
  /** The phones' driver (scenario target.driver: a built-in name or an absolute module path) and its options; default chatsim.v1. */
  driver?: string;
  driverOptions?: Record<string, unknown>;
}

/** A scenario event's action on the phones of one worker (EventPlayer's FleetControl, over the thread boundary). */
export type FleetAction =
  | { op: 'addPhone'; spec: WorkerPhoneSpec }
  | { op: 'logout'; device: string }
  | { op: 'reinstall'; device: string; spec: WorkerPhoneSpec }
  | { op: 'tunnel'; profile: string; forMs: number }
  | { op: 'burst'; sends: Array<{ device: string; messages: number }>; withinMs: number }
  | { op: 'hotChat'; chat: string; share: number; forMs: number }
  | { op: 'membership'; user: string; chat: WorkerPhoneSpec['chats'][number]; joined: boolean };

export type MainToWorker =
  /** End of the load: stop sending, heal the links; `quiesceMs` is how long until `finish`. */
  | { type: 'heal'; quiesceMs: number }
  | { type: 'event'; action: FleetAction }
  | { type: 'finish' };

export interface WorkerProgress {
  connected: number;
  phones: number;
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  eventLoopLagMsP99: number;
  cpuMs: number;
  /** The latencies recorded since the last progress message (the progress line's p99s). */
  latency?: EncodedLatencySlice;
}

export type WorkerToMain =
  | { type: 'ready' }
  | { type: 'progress'; progress: WorkerProgress }
  | { type: 'done'; metrics: string; progress: WorkerProgress; historyEvents: number }
  | { type: 'failed'; message: string };
