/** A live run's counters at one moment: the engine emits it, the terminal, the Prometheus endpoint and the CLI show it. */
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
