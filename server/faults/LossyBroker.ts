import type { Broker, Subscription } from '../ports/Broker.ts';
import type { Random } from '../ports/Random.ts';

/** Ends one loss window opened by `LossyBroker.startLoss`; calling it again is a no-op. */
export type EndLoss = () => void;

/**
 * Fault injection: a Broker that loses payloads. While at least one loss window is open, each
 * published payload is dropped before delivery with probability `share` (the largest share of
 * the open windows), drawn from its own random stream, so a seed drops the same payloads.
 * Outside a window it passes everything through. The Broker contract already allows this
 * (at most once: Pub/Sub does lose payloads when a subscriber's link hiccups), so the system
 * must recover on its own: phones by gap detection and sync, senders by retrying.
 *
 * A dropped payload is lost in transit, not refused: `publish` resolves as if it was accepted
 * and returns the number of subscribers that subscribed through this broker (the publisher of
 * a real Pub/Sub cannot tell either). Subscribers that bypass this wrapper are not counted.
 */
export class LossyBroker implements Broker {
  /** Open windows; a window with a channel drops payloads of that channel only (`lose-broker-channel`). */
  private readonly windows = new Set<{ share: number; channel?: string }>();
  private readonly subscribers = new Map<string, number>();
  /** Payloads dropped and passed through while a window was open (for tests and logs). */
  readonly stats = { dropped: 0, passedDuringLoss: 0 };

  constructor(private readonly inner: Broker, private readonly random: Random) {}

  /**
   * Opens a loss window dropping `share` (0..1] of payloads until the returned function is
   * called: of every channel, or with `channel` of that channel only.
   */
  startLoss(share: number, channel?: string): EndLoss {
    if (!(share > 0 && share <= 1)) throw new Error(`loss share must be in (0, 1], got ${share}`);
    const window = channel === undefined ? { share } : { share, channel };
    this.windows.add(window);
    return () => { this.windows.delete(window); };
  }

  /** The drop probability now (of `channel`'s payloads): the largest share of the open windows that apply, 0 when none. */
  lossShare(channel?: string): number {
    let share = 0;
    for (const w of this.windows) if (w.channel === undefined || w.channel === channel) share = Math.max(share, w.share);
    return share;
  }

  async publish(channel: string, payload: string): Promise<number> {
    const share = this.lossShare(channel);
    if (share > 0) {
      if (this.random.nextFloat() < share) {
        this.stats.dropped++;
        return this.subscribers.get(channel) ?? 0;
      }
      this.stats.passedDuringLoss++;
    }
    return this.inner.publish(channel, payload);
  }

  async subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    const subscription = await this.inner.subscribe(channel, handler);
    this.subscribers.set(channel, (this.subscribers.get(channel) ?? 0) + 1);
    let subscribed = true;
    return {
      unsubscribe: async () => {
        await subscription.unsubscribe();
        if (!subscribed) return;
        subscribed = false;
        const left = (this.subscribers.get(channel) ?? 1) - 1;
        if (left > 0) this.subscribers.set(channel, left);
        else this.subscribers.delete(channel);
      },
    };
  }
}
