import type { Broker, Subscription } from '../ports/Broker.ts';
import type { Timers, TimerHandle } from '../ports/Clock.ts';
import type { Random } from '../ports/Random.ts';
import { checkShare, FaultWindows, type EndWindow } from './FaultWindows.ts';

/**
 * How long a payload held back by a reorder window waits for the next payload of its channel
 * before it is delivered anyway, in ms (a quiet channel must not keep it forever).
 */
export const REORDER_HOLD_MS_MAX = 50;

/**
 * Fault injection: a Broker that duplicates and reorders payloads for a window (the
 * `duplicate-broker-messages` and `reorder-broker-messages` faults), as a broker whose client
 * retries a publish it thinks was lost, or a cluster of brokers with several paths, does.
 * The Broker contract promises at most once and order per publisher and channel; these windows
 * break both on purpose, so a run shows whether gateways and phones stay correct when the
 * transport under them is worse than promised (every consumer dedupes by seq, version or id).
 *
 * - Duplicate: each payload published is handed on twice, one right after the other, with
 *   probability `share` (the largest of the open windows).
 * - Reorder: each payload is held back with probability `share` and handed on right after the
 *   next payload of its channel, or after REORDER_HOLD_MS_MAX when none comes. A held payload's
 *   `publish` resolves at once (the publisher cannot tell), with the channel's last known count.
 * Draws come from this wrapper's own random stream, so a seed disorders the same payloads.
 */
export class DisorderingBroker implements Broker {
  private readonly duplicates = new FaultWindows();
  private readonly reorders = new FaultWindows();
  private readonly held = new Map<string, { payload: string; timer: TimerHandle }>();
  private readonly lastCount = new Map<string, number>();
  readonly stats = { duplicated: 0, reordered: 0 };

  constructor(private readonly inner: Broker, private readonly timers: Timers, private readonly random: Random) {}

  startDuplicates(share: number): EndWindow {
    checkShare(share);
    return this.duplicates.start(share);
  }

  startReorders(share: number): EndWindow {
    checkShare(share);
    const end = this.reorders.start(share);
    return () => {
      end();
      if (!this.reorders.active) for (const channel of [...this.held.keys()]) this.release(channel);
    };
  }

  async publish(channel: string, payload: string): Promise<number> {
    const reorderShare = this.reorders.strongest();
    if (reorderShare > 0 && !this.held.has(channel) && this.random.nextFloat() < reorderShare) {
      this.stats.reordered++;
      this.held.set(channel, { payload, timer: this.timers.schedule(REORDER_HOLD_MS_MAX, () => this.release(channel)) });
      return this.lastCount.get(channel) ?? 0;
    }
    const count = await this.handOn(channel, payload);
    this.release(channel);
    return count;
  }

  subscribe(channel: string, handler: (payload: string) => void): Promise<Subscription> {
    return this.inner.subscribe(channel, handler);
  }

  /** Publishes one payload (twice when a duplicate window draws it). */
  private async handOn(channel: string, payload: string): Promise<number> {
    const duplicateShare = this.duplicates.strongest();
    const twice = duplicateShare > 0 && this.random.nextFloat() < duplicateShare;
    const first = this.inner.publish(channel, payload);
    if (twice) {
      this.stats.duplicated++;
      void this.inner.publish(channel, payload).catch(() => undefined);
    }
    const count = await first;
    this.lastCount.set(channel, count);
    return count;
  }

  /** Hands on the payload held back on `channel`, if any. */
  private release(channel: string): void {
    const held = this.held.get(channel);
    if (!held) return;
    this.held.delete(channel);
    held.timer.cancel();
    void this.handOn(channel, held.payload).catch(() => undefined);
  }
}
