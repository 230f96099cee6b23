import { ManualTime } from '../../server/memory/ManualTime.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryDirectory } from '../../server/memory/MemoryDirectory.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { describeBrokerContract } from './brokerContract.ts';
import { describeDirectoryContract } from './directoryContract.ts';
import { flushAsync } from './helpers.ts';
import { describeInboundQueueContract } from './inboundQueueContract.ts';
import { describeMessageStoreContract } from './messageStoreContract.ts';
import { describePresenceStoreContract } from './presenceStoreContract.ts';

const nothingToRelease = async (): Promise<void> => {};

describeBrokerContract('MemoryBroker', async () => {
  const broker = new MemoryBroker();
  return { broker, connect: async () => broker, cleanup: nothingToRelease };
});

describeInboundQueueContract('MemoryInboundQueue', async (options) => ({
  queue: new MemoryInboundQueue({ timers: createSystemTime(), ...options }),
  cleanup: nothingToRelease,
}));

describePresenceStoreContract('MemoryPresenceStore', async () => {
  const time = new ManualTime();
  return {
    store: new MemoryPresenceStore(time),
    advance: async (ms) => {
      time.advance(ms);
      await flushAsync();
    },
    nowMs: () => time.nowMs(),
    cleanup: nothingToRelease,
  };
});

describeMessageStoreContract('MemoryMessageStore', async () => ({
  store: new MemoryMessageStore(),
  cleanup: nothingToRelease,
}));

describeDirectoryContract('MemoryDirectory', async () => ({
  directory: new MemoryDirectory(),
  cleanup: nothingToRelease,
}));
