import type { ServerBugEquipment } from '../bugs/serverBugEquipment.ts';
import type { FaultWrappers } from '../faults/BackendFaultWindow.ts';
import { DisorderingBroker } from '../faults/DisorderingBroker.ts';
import type { FaultEquipment } from '../faults/FaultEquipment.ts';
import { FaultyMessageStore } from '../faults/FaultyMessageStore.ts';
import { LossyBroker } from '../faults/LossyBroker.ts';
import { RestartablePresenceStore } from '../faults/RestartablePresenceStore.ts';
import { MeasuredBroker } from '../metrics/MeasuredBroker.ts';
import { MeasuredMessageStore } from '../metrics/MeasuredMessageStore.ts';
import type { Broker } from '../ports/Broker.ts';
import type { TimeSource } from '../ports/Clock.ts';
import type { MessageStore } from '../ports/MessageStore.ts';
import type { Metrics } from '../ports/Metrics.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { Random } from '../ports/Random.ts';

/** The ports a node opened that the harness wraps (queue and directory are handed over as they are). */
export interface WrappablePorts {
  broker?: Broker;
  presence?: PresenceStore;
  store?: MessageStore;
}

export interface WrappedPorts extends WrappablePorts {
  /** The fault wrappers, where backend fault windows open (server/faults/). */
  faults: FaultWrappers;
}

export interface WrapOptions {
  time: TimeSource;
  /** Draws the broker faults' randomness (forks `broker-disorder` and `broker-loss`). */
  random: Random;
  /** Where the ports' latencies are measured; absent: not measured. */
  metrics?: Metrics | undefined;
  equipment: ServerBugEquipment;
  /**
   * The fault wrappers to install (server/faults/FaultEquipment.ts): those the run's fault
   * timeline needs, and no other, so a run without faults has none in its paths.
   */
  needs: ReadonlySet<FaultEquipment>;
  /** The presence store's generation this node starts in (a restart-presence-store bumps it). */
  presenceGeneration?: number;
}

/**
 * The harness equipment around the ports of one node (the in-process cluster is one node),
 * from the inside out: store bugs around the store, so they hold on any store; the fault
 * wrappers the run needs (`needs`), passing everything through until a fault window opens; the
 * metrics, outside, so they measure the latency a caller sees (a slow-store window included).
 */
export function wrapPorts(ports: WrappablePorts, options: WrapOptions): WrappedPorts {
  const { time, metrics, needs } = options;
  const faults: FaultWrappers = { equipped: needs };
  const wrapped: WrappedPorts = { faults };
  if (ports.broker) {
    let broker = ports.broker;
    if (needs.has('broker-disorder')) broker = faults.disorder = new DisorderingBroker(broker, time, options.random.fork('broker-disorder'));
    if (needs.has('broker-loss')) broker = faults.loss = new LossyBroker(broker, options.random.fork('broker-loss'));
    wrapped.broker = metrics ? new MeasuredBroker(broker, time, metrics) : broker;
  }
  if (ports.store) {
    let store = options.equipment.store(ports.store);
    if (needs.has('store-faults')) store = faults.store = new FaultyMessageStore(store, time);
    wrapped.store = metrics ? new MeasuredMessageStore(store, time, metrics) : store;
  }
  if (ports.presence) {
    let presence = ports.presence;
    if (needs.has('presence-restart')) {
      presence = faults.presence = new RestartablePresenceStore(presence, time);
      if (options.presenceGeneration !== undefined) faults.presence.setGeneration(options.presenceGeneration);
    }
    wrapped.presence = presence;
  }
  return wrapped;
}
