import type { NetworkProfileSpec } from './Scenario.ts';

/**
 * Builtin network profiles, by the names scenarios use (`network: [{ profile: flaky-3g, share: 0.3 }]`).
 * scenarios/schema.json lists the same names (test/scenario/schema.test.ts keeps them in step).
 *
 * Numbers are one-way and per phone. Sources for the orders of magnitude: OpenSignal / Ookla
 * mobile reports (4G median latency 30–50 ms, 3G 100–250 ms with large variance), and the usual
 * experience of commuting underground (tunnels of tens of seconds, handovers between networks).
 * Rates are averages per minute of Poisson processes; durations are drawn uniformly from min..max.
 */
export const BUILTIN_PROFILES = {
  /** No delay, no limits, no faults: the phone sits next to the server. For functional runs. */
  loopback: {
    name: 'loopback',
    latencyMs: { base: 0, jitter: 0 },
    bandwidthBytesPerSec: 0,
    stallsPerMinute: 0,
    stallMs: { min: 0, max: 0 },
    halfOpenPerMinute: 0,
    resetsPerMinute: 0,
    offlinePerMinute: 0,
    offlineMs: { min: 0, max: 0 },
    switchesPerMinute: 0,
  },
  /** Home or office Wi-Fi: 10±5 ms, ~20 Mbit/s (2.5 MB/s), no faults. */
  wifi: {
    name: 'wifi',
    latencyMs: { base: 10, jitter: 5 },
    bandwidthBytesPerSec: 2_500_000,
    stallsPerMinute: 0,
    stallMs: { min: 0, max: 0 },
    halfOpenPerMinute: 0,
    resetsPerMinute: 0,
    offlinePerMinute: 0,
    offlineMs: { min: 0, max: 0 },
    switchesPerMinute: 0,
  },
  /** A good LTE link: 40±15 ms, ~12 Mbit/s (1.5 MB/s), no faults. The default profile. */
  'good-4g': {
    name: 'good-4g',
    latencyMs: { base: 40, jitter: 15 },
    bandwidthBytesPerSec: 1_500_000,
    stallsPerMinute: 0,
    stallMs: { min: 0, max: 0 },
    halfOpenPerMinute: 0,
    resetsPerMinute: 0,
    offlinePerMinute: 0,
    offlineMs: { min: 0, max: 0 },
    switchesPerMinute: 0,
  },
  /**
   * A poor 3G link at the edge of a cell: 150±80 ms, ~100 KB/s, two stalls a minute of 0.5–3 s,
   * a reset every ~3 minutes (0.3/min) and a half-open episode every ~5 minutes (0.2/min).
   */
  'flaky-3g': {
    name: 'flaky-3g',
    latencyMs: { base: 150, jitter: 80 },
    bandwidthBytesPerSec: 100_000,
    stallsPerMinute: 2,
    stallMs: { min: 500, max: 3_000 },
    halfOpenPerMinute: 0.2,
    resetsPerMinute: 0.3,
    offlinePerMinute: 0,
    offlineMs: { min: 0, max: 0 },
    switchesPerMinute: 0,
  },
  /**
   * A phone on an underground train: 80±40 ms and ~250 KB/s between stations, an offline
   * window (tunnel) about once a minute lasting 5–40 s, a network switch (station Wi-Fi to
   * cellular and back) every ~2 minutes (0.5/min), and a short stall a minute (0.3–1.5 s,
   * handovers between cells).
   */
  'subway-commuter': {
    name: 'subway-commuter',
    latencyMs: { base: 80, jitter: 40 },
    bandwidthBytesPerSec: 250_000,
    stallsPerMinute: 1,
    stallMs: { min: 300, max: 1_500 },
    halfOpenPerMinute: 0,
    resetsPerMinute: 0,
    offlinePerMinute: 1,
    offlineMs: { min: 5_000, max: 40_000 },
    switchesPerMinute: 0.5,
  },
} as const satisfies Record<string, NetworkProfileSpec>;

export type BuiltinProfileName = keyof typeof BUILTIN_PROFILES;

export const BUILTIN_PROFILE_NAMES = Object.keys(BUILTIN_PROFILES) as BuiltinProfileName[];

export function isBuiltinProfileName(name: string): name is BuiltinProfileName {
  return Object.prototype.hasOwnProperty.call(BUILTIN_PROFILES, name);
}

/** A fresh, mutable copy of a builtin profile. */
export function builtinProfile(name: BuiltinProfileName): NetworkProfileSpec {
  const p = BUILTIN_PROFILES[name];
  return {
    ...p,
    latencyMs: { ...p.latencyMs },
    stallMs: { ...p.stallMs },
    offlineMs: { ...p.offlineMs },
  };
}
