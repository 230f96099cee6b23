import type { Clock } from '../../server/ports/Clock.ts';
import { OffsetClock } from '../../server/faults/OffsetClock.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { ClockJumpSpec, Scenario } from '../scenario/Scenario.ts';

/**
 * Wall clocks that are off (scenario `clocks` and `clock-jump` faults; docs/architecture.md,
 * "Clock skew and jumps"). Logic reads wall time through a `Clock` port and measures durations
 * on its monotonic `TimeSource`, so these wrappers change timestamps only, never a timer.
 */

/** A whole number of ms uniform in [-maxMs, +maxMs] from `random` (0 when maxMs is 0). */
export function drawSkewMs(random: Random, maxMs: number): number {
  return maxMs <= 0 ? 0 : random.nextInt(2 * maxMs + 1) - maxMs;
}

/** A phone's clock jumps: at `atMs` after the run start, the wall clock steps by `byMs`. */
export interface PhoneClockJump {
  atMs: number;
  byMs: number;
}

/** How one phone's wall clock is off: a fixed skew and the jumps it takes (the spec a worker gets). */
export interface PhoneClockSpec {
  skewMs: number;
  jumps: PhoneClockJump[];
}

/**
 * A phone's wall clock: `base` off by a fixed skew plus every jump whose time (on `base`,
 * from `startMs`) has come. It can go back (a negative jump), which the Clock port allows for
 * wall time; durations are never measured on it.
 */
export class ScheduledClock implements Clock {
  private readonly jumps: PhoneClockJump[];

  constructor(private readonly base: Clock, private readonly startMs: number, private readonly spec: PhoneClockSpec) {
    this.jumps = [...spec.jumps].sort((a, b) => a.atMs - b.atMs);
  }

  nowMs(): number {
    const now = this.base.nowMs();
    let offset = this.spec.skewMs;
    for (const jump of this.jumps) {
      if (this.startMs + jump.atMs > now) break;
      offset += jump.byMs;
    }
    return now + offset;
  }
}

/**
 * Each phone's clock for a scenario: its skew drawn from `random` forked by device, and the
 * phone `clock-jump` faults it takes (a share of phones each, drawn per device and fault).
 * Undefined when the phone's clock is true.
 */
export function phoneClockSpec(scenario: Scenario, device: string, random: Random): PhoneClockSpec | undefined {
  const own = random.fork(`clock:${device}`);
  const skewMs = drawSkewMs(own.fork('skew'), scenario.clocks?.phoneSkewMs ?? 0);
  const jumps: PhoneClockJump[] = [];
  scenario.faults.forEach((fault, i) => {
    if (fault.kind !== 'clock-jump' || fault.target !== 'phones') return;
    const share = fault.share ?? 1;
    if (share >= 1 || own.fork(`jump:${i}`).nextFloat() < share) jumps.push({ atMs: fault.atMs, byMs: fault.byMs });
  });
  return skewMs === 0 && jumps.length === 0 ? undefined : { skewMs, jumps };
}

/** A chat server slot's wall clock: `base` off by its slot's skew, stepped by `clock-jump` faults. */
export { OffsetClock as SteppableClock } from '../../server/faults/OffsetClock.ts';

/**
 * The chat servers' wall clocks of one in-process cluster (the Cluster's `chatServerClock`):
 * one per slot, kept across restarts (the slot is the machine), each skewed by a draw from
 * `random` forked by slot, on top of what `inner` gives the slot (the simulation's own skew).
 */
/** The fixed skew of chat server slot `index`, from `random` forked by the slot (the same draw in-process and multi-process). */
export function chatServerSkewMs(random: Random, index: number, maxMs: number): number {
  return drawSkewMs(random.fork(`chat-server-skew:${index}`), maxMs);
}

/** What steps the chat servers' clocks on a `clock-jump`: the in-process slots' clocks, or a multi-process cluster's nodes. */
export interface ChatServerClockControl {
  step(fault: ClockJumpSpec): void | Promise<void>;
}

export class ChatServerClocks implements ChatServerClockControl {
  private readonly clocks = new Map<number, OffsetClock>();

  constructor(private readonly base: Clock, private readonly random: Random, private readonly slots: number, private readonly skewMaxMs: number, private readonly inner?: (server: { index: number; id: string }) => Clock) {}

  /** The Cluster option. */
  readonly forSlot = (server: { index: number; id: string }): Clock => {
    let clock = this.clocks.get(server.index);
    if (!clock) {
      clock = new OffsetClock(this.inner?.(server) ?? this.base, chatServerSkewMs(this.random, server.index, this.skewMaxMs));
      this.clocks.set(server.index, clock);
    }
    return clock;
  };

  /** A `clock-jump` of the chat servers: one slot, or every slot (those not started yet included). */
  step(fault: ClockJumpSpec): void {
    const indexes = fault.chatServer === undefined ? Array.from({ length: this.slots }, (_, i) => i) : [fault.chatServer];
    for (const index of indexes) {
      if (!this.clocks.has(index)) this.forSlot({ index, id: `slot${index}` });
      this.clocks.get(index)!.step(fault.byMs);
    }
  }
}

/**
 * How far a chat server's wall clock may be off the run's clock in this scenario: its skew
 * bound and every chat-server jump (the simulated machines' small skew, sim.clockSkewMs, is
 * within the checkers' own tolerance). The checkers widen what they read from server
 * timestamps (message `ts`) by it.
 */
export function chatServerClockOffsetMaxMs(scenario: Scenario): number {
  let offset = scenario.clocks?.chatServerSkewMs ?? 0;
  for (const fault of scenario.faults) if (fault.kind === 'clock-jump' && fault.target === 'chat-servers') offset += Math.abs(fault.byMs);
  return offset;
}
