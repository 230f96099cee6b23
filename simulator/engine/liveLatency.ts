import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { HdrHistogram, type EncodedHdr } from '../metrics/hdrStats.ts';

/** How far back the progress line's p99s look: long enough to be steady, short enough to show a stall. */
export const LIVE_LATENCY_WINDOW_MS = 5000;

/** One slice of live latencies (a worker's last second), as shipped to the main thread. */
export interface EncodedLatencySlice {
  ack: EncodedHdr | null;
  delivery: EncodedHdr | null;
}

/**
 * The latencies a progress line can show while the run goes, from the history as it is
 * recorded in one thread: `ack` is sendToAck (the phone's send to its ack, as in the summary);
 * `delivery` is from the server storing a message to its render by push on a recipient (the
 * delivery leg of sendToDelivered, which needs the sender's send time from another worker and
 * so is only computed after the run; renders by sync are left out, they measure how long a
 * phone was away). HdrHistogram, chatsim's one percentile engine. `take` returns the samples since
 * the last take and starts a new slice.
 */
export class LiveLatencies {
  private ack = new HdrHistogram();
  private delivery = new HdrHistogram();
  private readonly invokedAt = new Map<string, number>();

  observe(event: HistoryEvent): void {
    if (event.type === 'invoke' && event.op === 'send') {
      this.invokedAt.set(`${event.p}|${event.clientMsgId}`, event.t);
    } else if ((event.type === 'ok' || event.type === 'fail' || event.type === 'info') && event.op === 'send') {
      const key = `${event.p}|${event.clientMsgId}`;
      const at = this.invokedAt.get(key);
      this.invokedAt.delete(key);
      if (at !== undefined && event.type === 'ok') this.ack.record(event.t - at);
    } else if (event.type === 'render' && event.via === 'push' && event.storedAt !== undefined) {
      this.delivery.record(event.t - event.storedAt);
    }
  }

  take(): { ack: HdrHistogram; delivery: HdrHistogram } {
    const slice = { ack: this.ack, delivery: this.delivery };
    this.ack = new HdrHistogram();
    this.delivery = new HdrHistogram();
    return slice;
  }

  takeEncoded(): EncodedLatencySlice {
    const { ack, delivery } = this.take();
    return { ack: ack.count > 0 ? ack.encode() : null, delivery: delivery.count > 0 ? delivery.encode() : null };
  }
}

/** Slices from every worker, kept for LIVE_LATENCY_WINDOW_MS; p99 over what is kept (null without samples). */
export class LatencyWindow {
  private slices: Array<{ atMs: number; ack: HdrHistogram; delivery: HdrHistogram }> = [];

  push(atMs: number, slice: { ack: HdrHistogram; delivery: HdrHistogram } | EncodedLatencySlice): void {
    const decode = (x: HdrHistogram | EncodedHdr | null): HdrHistogram => {
      if (x instanceof HdrHistogram) return x;
      const stats = new HdrHistogram();
      if (x) stats.addEncoded(x);
      return stats;
    };
    this.slices.push({ atMs, ack: decode(slice.ack), delivery: decode(slice.delivery) });
  }

  p99s(nowMs: number): { ackP99Ms: number | null; deliveryP99Ms: number | null } {
    this.slices = this.slices.filter((s) => s.atMs > nowMs - LIVE_LATENCY_WINDOW_MS);
    const ack = new HdrHistogram();
    const delivery = new HdrHistogram();
    for (const s of this.slices) {
      ack.addStats(s.ack);
      delivery.addStats(s.delivery);
    }
    return { ackP99Ms: ack.percentile(99), deliveryP99Ms: delivery.percentile(99) };
  }
}
