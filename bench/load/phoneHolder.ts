// Real virtual phones (simulator/phone/Phone.ts over WsClientTransport, as a live run's worker
// makes them) connected to the cluster and idle, in their own process: what one connected
// phone costs the load generator in memory. History goes nowhere (a live worker streams it to
// disk) and metrics are shared sinks, so the figure is the phone and its socket.
import { Phone } from '../../simulator/phone/Phone.ts';
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { serveParent } from '../lib/child.ts';
import { sampleProcess } from '../lib/proc.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';

const time = createSystemTime();
const transport = new WsClientTransport();
const random = new SeededRandom(7);
const phones: Phone[] = [];

serveParent({
  /** Starts one phone per token and waits (up to `timeoutMs`) until every one is ready (hello and sync done). */
  start: async ({ tokens, gatewayUrls, timeoutMs = 120_000 }: { tokens: Array<{ user: string; token: string }>; gatewayUrls: string[]; timeoutMs?: number }) => {
    const before = sampleProcess(process.pid)!.rssBytes;
    const started = performance.now();
    for (const [i, { user, token }] of tokens.entries()) {
      const phone = new Phone({
        user, device: 'd1', token, gatewayUrls, chats: [], friends: [], driver: new ChatsimV1Driver(transport), time, random: random.fork(`phone:${i}`),
        history: { record: () => undefined }, metrics: { observe: () => undefined, increment: () => undefined }, startMs: time.nowMs(),
      });
      phones.push(phone);
      phone.start();
      // Spread the connects a little, as a worker's ramp does: 100 per event-loop turn.
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    const ready = (): number => phones.filter((p) => p.state().phase === 'ready').length;
    while (ready() < phones.length && performance.now() - started < timeoutMs) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 2000)); // let the connects' garbage settle as in the peer's run
    const after = sampleProcess(process.pid)!.rssBytes;
    return { phones: phones.length, ready: ready(), rssBeforeBytes: before, rssAfterBytes: after, ms: performance.now() - started };
  },
}, () => {
  for (const phone of phones) phone.stop();
});
