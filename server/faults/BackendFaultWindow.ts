import type { DisorderingBroker } from './DisorderingBroker.ts';
import { assertEquipped, type FaultEquipment } from './FaultEquipment.ts';
import type { FaultyMessageStore } from './FaultyMessageStore.ts';
import type { EndWindow } from './FaultWindows.ts';
import type { LossyBroker } from './LossyBroker.ts';
import type { RestartablePresenceStore } from './RestartablePresenceStore.ts';

/**
 * A window of a backend fault, as one process plays it on its own port wrappers (the scenario's
 * backend faults, simulator/scenario/Scenario.ts, less what only a cluster can do: bringing a
 * gateway back). `presence-store-down` is the part of a presence store restart that lasts;
 * the restart itself moves every process to a new generation (RestartablePresenceStore).
 */
export type BackendFaultWindow =
  | { kind: 'store-outage' }
  | { kind: 'slow-store'; latencyMs: number }
  | { kind: 'presence-store-down'; generation: number }
  | { kind: 'duplicate-broker-messages'; share: number }
  | { kind: 'reorder-broker-messages'; share: number }
  /** `channel` is the broker channel's name (PRESENCE_EVENTS_CHANNEL, gatewayChannel(id)). */
  | { kind: 'lose-broker-channel'; channel: string; share: number };

/**
 * The fault wrappers one process put around its ports at assembly: those of `equipped` (what
 * the run's faults need), less those of a port the process does not use.
 */
export interface FaultWrappers {
  equipped: ReadonlySet<FaultEquipment>;
  store?: FaultyMessageStore;
  presence?: RestartablePresenceStore;
  disorder?: DisorderingBroker;
  loss?: LossyBroker;
}

/** The wrapper a window opens on. */
export function equipmentOf(window: BackendFaultWindow): FaultEquipment {
  switch (window.kind) {
    case 'store-outage': case 'slow-store': return 'store-faults';
    case 'presence-store-down': return 'presence-restart';
    case 'duplicate-broker-messages': case 'reorder-broker-messages': return 'broker-disorder';
    case 'lose-broker-channel': return 'broker-loss';
  }
}

/**
 * Opens `window` on the wrappers there are (a process without the port is not affected: a
 * gateway has no message store) and returns the function that ends it. A window whose wrapper
 * the process was not equipped with is a harness bug (an assertion fails).
 */
export function openFaultWindow(wrappers: FaultWrappers, window: BackendFaultWindow): EndWindow {
  assertEquipped(wrappers.equipped, equipmentOf(window));
  switch (window.kind) {
    case 'store-outage': return wrappers.store?.startOutage() ?? noop;
    case 'slow-store': return wrappers.store?.startSlowdown(window.latencyMs) ?? noop;
    case 'presence-store-down':
      wrappers.presence?.setGeneration(window.generation);
      return wrappers.presence?.startDown() ?? noop;
    case 'duplicate-broker-messages': return wrappers.disorder?.startDuplicates(window.share) ?? noop;
    case 'reorder-broker-messages': return wrappers.disorder?.startReorders(window.share) ?? noop;
    case 'lose-broker-channel': return wrappers.loss?.startLoss(window.share, window.channel) ?? noop;
  }
}

const noop: EndWindow = () => undefined;
