// The port contracts hold with the simulation's latencies in front of the memory ports
// (simulator/engine/sim/withLatency.ts): every call delayed on a ManualTime that a pump drives
// forward one instant at a time, as the simulation engine does, while the suites wait in real
// time. Ranges are wider than the defaults so calls in flight really do overlap.
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import {
  LatentBroker, LatentDirectory, LatentInboundQueue, LatentMessageStore, LatentPresenceStore, PortLatency, type LatencyRangeMs,
} from '../../simulator/engine/sim/withLatency.ts';
import { describeBrokerContract } from './brokerContract.ts';
import { describeDirectoryContract } from './directoryContract.ts';
import { flushAsync } from './helpers.ts';
import { describeInboundQueueContract } from './inboundQueueContract.ts';
import { describeMessageStoreContract } from './messageStoreContract.ts';
import { describePresenceStoreContract } from './presenceStoreContract.ts';

let seed = 1;

/** A ManualTime fired one instant per macrotask turn (promise callbacks settle in between). */
function pumpedTime(): { time: ManualTime; stop(): Promise<void> } {
  const time = new ManualTime();
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    const next = time.nextDueMs();
    if (next === undefined) {
      setTimeout(tick, 1);
      return;
    }
    time.fireNextInstant(next);
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    time,
    stop: async () => {
      // Let calls still in flight finish, so nothing is left waiting on a clock nobody moves.
      for (let i = 0; i < 1_000 && time.nextDueMs() !== undefined; i++) await flushAsync();
      stopped = true;
    },
  };
}

function latency(time: ManualTime, range: LatencyRangeMs): PortLatency {
  return new PortLatency(time, new SeededRandom(seed++), range);
}

describeBrokerContract('MemoryBroker behind simulated latency', async () => {
  const pump = pumpedTime();
  const inner = new MemoryBroker();
  const broker = new LatentBroker(inner, latency(pump.time, { min: 0, max: 3 }));
  return { broker, connect: async () => new LatentBroker(inner, latency(pump.time, { min: 0, max: 3 })), cleanup: pump.stop };
});

describeInboundQueueContract('MemoryInboundQueue behind simulated latency', async (options) => {
  const pump = pumpedTime();
  return { queue: new LatentInboundQueue(new MemoryInboundQueue({ timers: pump.time, ...options }), latency(pump.time, { min: 0, max: 3 })), cleanup: pump.stop };
});

describePresenceStoreContract('MemoryPresenceStore behind simulated latency', async () => {
  const pump = pumpedTime();
  const { time } = pump;
  return {
    store: new LatentPresenceStore(new MemoryPresenceStore(time), latency(time, { min: 0, max: 3 })),
    advance: async (ms) => {
      time.advance(ms);
      await flushAsync();
    },
    nowMs: () => time.nowMs(),
    cleanup: pump.stop,
  };
});

describeMessageStoreContract('MemoryMessageStore behind simulated latency', async () => {
  const pump = pumpedTime();
  return { store: new LatentMessageStore(new MemoryMessageStore(), latency(pump.time, { min: 1, max: 4 })), cleanup: pump.stop };
});

describeDirectoryContract('MemoryDirectory behind simulated latency', async () => {
  const pump = pumpedTime();
  return { directory: new LatentDirectory(new MemoryDirectory(), latency(pump.time, { min: 0, max: 2 })), cleanup: pump.stop };
});
