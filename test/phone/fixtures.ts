// Shared setup for phone tests: a phone on fake time and a fake gateway, with its history
// and metrics captured.
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { MessageFrame, SyncFrame } from '../../server/protocol/frames.ts';
import type { HistoryEvent } from '../../simulator/history/HistoryEvent.ts';
import type { LatencyMetric, MetricsSink } from '../../simulator/metrics/MetricsSink.ts';
import { Phone, type PhoneOptions } from '../../simulator/phone/Phone.ts';
import { FakeServerTransport, type FakeConnection } from './FakeServerTransport.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';

export class RecordingMetrics implements MetricsSink {
  readonly counters = new Map<string, number>();
  readonly samples: Array<{ metric: LatencyMetric; value: number }> = [];
  observe(metric: LatencyMetric, value: number): void {
    this.samples.push({ metric, value });
  }
  increment(counter: string, by = 1): void {
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + by);
  }
  count(counter: string): number {
    return this.counters.get(counter) ?? 0;
  }
  values(metric: LatencyMetric): number[] {
    return this.samples.filter((s) => s.metric === metric).map((s) => s.value);
  }
}

export const CHAT = 'd:alice:bob';
export const GROUP = 'g:team';

export interface PhoneRig {
  phone: Phone;
  time: ManualTime;
  transport: FakeServerTransport;
  events: HistoryEvent[];
  metrics: RecordingMetrics;
  startMs: number;
  ofType<T extends HistoryEvent['type']>(type: T): Array<Extract<HistoryEvent, { type: T }>>;
}

export function makePhone(options: Partial<PhoneOptions> = {}, random: Random = new SeededRandom(7)): PhoneRig {
  const time = new ManualTime();
  const transport = new FakeServerTransport(() => time.nowMs());
  const events: HistoryEvent[] = [];
  const metrics = new RecordingMetrics();
  const startMs = time.nowMs();
  const phone = new Phone({
    user: 'alice', device: 'd1', token: 'tok', gatewayUrls: ['ws://gw1', 'ws://gw2'],
    chats: [{ id: CHAT, kind: 'direct', members: ['alice', 'bob'] }, { id: GROUP, kind: 'group', members: ['alice', 'bob', 'carol'] }],
    friends: ['bob'], driver: new ChatsimV1Driver(transport), time, random, history: { record: (e) => events.push(e) }, metrics, startMs, options,
  });
  const ofType = <T extends HistoryEvent['type']>(type: T) => events.filter((e) => e.type === type) as Array<Extract<HistoryEvent, { type: T }>>;
  return { phone, time, transport, events, metrics, startMs, ofType };
}

/** Answers the phone's pending sync with nothing new. */
export function answerSync(connection: FakeConnection, chats: Array<{ chat: string; messages: MessageFrame[] }> = [], hasMore = false): SyncFrame {
  const sync = connection.ofType('sync').at(-1);
  if (!sync) throw new Error('no sync frame sent');
  connection.push({
    type: 'sync_result', ref: sync.id, epoch: 'mem-1', hasMore,
    chats: chats.map((c) => ({ chat: c.chat, messages: c.messages, head: c.messages.at(-1)?.seq ?? 0, hasMore: false, receipts: [] })),
  });
  return sync;
}

/** Starts the phone and brings it to `ready` on the first connection. */
export function startReady(rig: PhoneRig): FakeConnection {
  rig.phone.start();
  const connection = rig.transport.last();
  connection.accept();
  answerSync(connection);
  return connection;
}

export function message(seq: number, from = 'bob', chat = CHAT, fromDevice = 'd1'): MessageFrame {
  return { type: 'message', chat, seq, msgId: `m${seq}`, from, fromDevice, clientMsgId: `${from}-c${seq}`, body: `hi ${seq}`, ts: 1_700_000_000_000 };
}

/** A Random whose floats are all `value` (to pin jitter at a known point). */
export function fixedRandom(value: number): Random {
  const random: Random = { nextFloat: () => value, nextInt: (bound) => Math.floor(value * bound), fork: () => random };
  return random;
}
