/**
 * Time, as the server and phone logic see it.
 *
 * Contract: `nowMs()` is milliseconds since the Unix epoch. The clock of a `TimeSource` (paired
 * with its timers) never decreases between two calls on the same instance: durations, timeouts
 * and deadlines are measured on it. A `Clock` given alone as a machine's wall time (the chat
 * server's `clock`, the phone's `wallClock`) may be skewed and may step either way (an NTP
 * step, a user setting the time: scenario `clocks` and `clock-jump`), so it is for timestamps
 * only, never for a duration; an age of something another machine stamped comes from that
 * machine (the presence store's `lastDisconnectAgeMs`). Logic must read time only through this
 * port (a lint rule forbids Date.now, new Date(), performance.now in server/ and simulator/),
 * so the same code runs on the wall clock and on a virtual clock in tests and the simulation engine.
 */
export interface Clock {
  nowMs(): number;
}

/** A scheduled callback that can be cancelled. Cancelling twice, or after it ran, is a no-op. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Timers, as the logic sees them.
 *
 * Contract: `schedule(delayMs, fn)` runs `fn` once, no earlier than `delayMs` after the call
 * on the paired Clock. Callbacks due at the same instant run in the order they were
 * scheduled. A callback never runs synchronously inside `schedule`. `every` repeats with a
 * fixed period until cancelled.
 */
export interface Timers {
  schedule(delayMs: number, fn: () => void): TimerHandle;
  every(periodMs: number, fn: () => void): TimerHandle;
}

/** Clock and timers that belong together: both real, or both virtual. */
export interface TimeSource extends Clock, Timers {}
