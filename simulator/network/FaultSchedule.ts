import type { TimerHandle, TimeSource } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { NetworkProfileSpec } from '../scenario/Scenario.ts';

export type FaultKind = 'stall' | 'halfOpen' | 'reset' | 'offline' | 'switch';

/** The profile's rates, per kind, in a fixed order. */
export function faultRatesPerMinute(profile: NetworkProfileSpec): Array<[FaultKind, number]> {
  return [
    ['stall', profile.stallsPerMinute],
    ['halfOpen', profile.halfOpenPerMinute],
    ['reset', profile.resetsPerMinute],
    ['offline', profile.offlinePerMinute],
    ['switch', profile.switchesPerMinute],
  ];
}

/**
 * Independent Poisson processes, one per fault kind. Each kind draws its gaps (and, through
 * `onFault`, its durations) from its own fork of the device's stream, so the schedule depends
 * on the seed only: not on traffic, and not on whether another kind is enabled.
 */
export class FaultSchedule {
  private readonly timers = new Map<FaultKind, TimerHandle>();
  private started = false;
  private stopped = false;

  constructor(
    private readonly time: TimeSource,
    private readonly random: Random,
    private readonly rates: Array<[FaultKind, number]>,
    private readonly onFault: (kind: FaultKind, random: Random) => void,
  ) {}

  /** Starts every process with a positive rate; later calls do nothing. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const [kind, perMinute] of this.rates) if (perMinute > 0) this.next(kind, perMinute, this.random.fork(kind));
  }

  /** Cancels every pending fault; none is ever scheduled again. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }

  private next(kind: FaultKind, perMinute: number, random: Random): void {
    const gapMs = (-Math.log(1 - random.nextFloat()) / perMinute) * 60_000;
    this.timers.set(kind, this.time.schedule(gapMs, () => {
      if (this.stopped) return;
      this.onFault(kind, random);
      if (!this.stopped) this.next(kind, perMinute, random);
    }));
  }
}
