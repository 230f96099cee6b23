import { AssertionError } from 'node:assert';

/**
 * The fault equipment the harness can install at assembly, each only when the run's fault
 * timeline has a fault that needs it (simulator/faults/faultKinds.ts says which kind needs
 * what), so a run without faults has no wrapper in its paths:
 * - `broker-loss`: LossyBroker around the broker (lose-broker-messages, lose-broker-channel);
 * - `broker-disorder`: DisorderingBroker around the broker (duplicate- and reorder-broker-messages);
 * - `store-faults`: FaultyMessageStore around the message store (store-outage, slow-store);
 * - `presence-restart`: RestartablePresenceStore around the presence store (restart-presence-store);
 * - `pause-gateway`, `pause-chat-server`: the pause wrappers of the in-process cluster
 *   (GatewayPause, ChatServerPause); a multi-process cluster pauses a node with SIGSTOP and
 *   installs nothing for them.
 */
export const FAULT_EQUIPMENT = ['broker-loss', 'broker-disorder', 'store-faults', 'presence-restart', 'pause-gateway', 'pause-chat-server'] as const;

export type FaultEquipment = typeof FAULT_EQUIPMENT[number];

/**
 * The wrapper a fault plays on, asserting that it was installed: a fault whose equipment the
 * assembly left out is a harness bug (its fault kind does not say what it needs, or a caller
 * built the cluster without it), never a silent no-op.
 */
export function equipped<T>(wrapper: T | undefined, need: FaultEquipment): T {
  if (wrapper === undefined) throw notEquipped(need);
  return wrapper;
}

/** Asserts that `installed` has `need` (see equipped). */
export function assertEquipped(installed: ReadonlySet<FaultEquipment>, need: FaultEquipment): void {
  if (!installed.has(need)) throw notEquipped(need);
}

function notEquipped(need: FaultEquipment): AssertionError {
  return new AssertionError({
    message: `harness bug: a fault needs the ${need} equipment, which this cluster was assembled without (its fault kind's needs in simulator/faults/faultKinds.ts, or the cluster's faultEquipment option)`,
  });
}
