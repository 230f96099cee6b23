// Issue 16: a paused gateway is harness equipment (server/faults/GatewayPause.ts) around the
// gateway's inputs, which the in-process cluster installs only for a run with pause-gateway:
// the gateway itself has no pause state. The wrapper holds links' frames, pings and closes,
// broker deliveries and the heartbeat sweep while paused and hands them over in arrival order.
import { describe, expect, it } from 'vitest';
import { assembleGateway } from '../../server/assembly/assembleGateway.ts';
import { NO_BUGS } from '../../server/bugs/BugCatalogue.ts';
import { ServerBugEquipment } from '../../server/bugs/serverBugEquipment.ts';
import type { ServerConnection } from '../../server/gateway/ServerConnection.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import type { InboundQueue } from '../../server/ports/InboundQueue.ts';
import { NO_METRICS } from '../../server/ports/Metrics.ts';
import { gatewayChannel, type GatewayDelivery, type InboundEnvelope } from '../../server/protocol/envelopes.ts';
import { PING_TEXT, PONG_TEXT } from '../../server/protocol/frames.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

const limits = resolveLimits({ heartbeatTimeoutMs: 3_000, heartbeatIntervalMs: 1_000, heartbeatSweepIntervalMs: 500 });

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** What the gateway did, in order: frames forwarded to the queue (`in:`), frames written to the link (`out:`), the link closed (`closed:`). */
function rig(pausable: boolean) {
  const time = new ManualTime();
  const log: string[] = [];
  const memoryQueue = new MemoryInboundQueue({ timers: time });
  const queue: InboundQueue = {
    enqueue: (key, payload, max) => {
      log.push(`in:${(JSON.parse(payload) as InboundEnvelope).frame}`);
      return memoryQueue.enqueue(key, payload, max);
    },
    consume: (name, handler, options) => memoryQueue.consume(name, handler, options),
    deadLetters: (limit) => memoryQueue.deadLetters(limit),
  };
  const broker = new MemoryBroker();
  const assembled = assembleGateway({
    id: 'gw1', time, limits, metrics: NO_METRICS, equipment: new ServerBugEquipment(NO_BUGS), pausable,
    ports: { broker, queue, presence: new MemoryPresenceStore(time) },
  });
  let onFrame: (text: string, bytes: number) => void = () => undefined;
  let onClose: (code: number) => void = () => undefined;
  const link: ServerConnection = {
    send: (text) => { if (!text.includes('"hello"')) log.push(`out:${text}`); },
    bufferedBytes: () => 0,
    close: (code) => { log.push(`closed:${code}`); },
    terminate: () => undefined,
    onFrame: (handler) => { onFrame = handler; },
    onClose: (handler) => { onClose = handler; },
  };
  const client = {
    frame: (text: string) => onFrame(text, Buffer.byteLength(text)),
    close: (code: number) => onClose(code),
  };
  const deliver = (connection: string, frame: string): Promise<number> =>
    broker.publish(gatewayChannel('gw1'), JSON.stringify({ kind: 'deliver', to: [connection], frame } satisfies GatewayDelivery));
  return { time, log, assembled, link, client, deliver };
}

describe('the gateway pause (harness equipment of the in-process cluster)', () => {
  it('holds frames, pings, deliveries and a close while paused and hands them to the gateway in arrival order on resume', async () => {
    const { log, assembled, link, client, deliver } = rig(true);
    const { gateway, entry, pause } = assembled;
    await gateway.start();
    const connection = entry.accept(link, { user: 'alice', device: 'd1' })!;
    await flush();
    expect(log).toEqual([]);

    pause!.pause();
    client.frame('{"type":"send","n":1}');
    client.frame(PING_TEXT);
    await deliver(connection, '{"type":"message","n":2}');
    await flush();
    client.frame('{"type":"send","n":3}');
    client.close(1000);
    await flush();
    // A stopped process has read nothing: nothing forwarded, nothing answered, the link still held.
    expect(log).toEqual([]);
    expect(gateway.connectionCount()).toBe(1);

    pause!.resume();
    expect(log).toEqual(['in:{"type":"send","n":1}', `out:${PONG_TEXT}`, 'out:{"type":"message","n":2}', 'in:{"type":"send","n":3}']);
    // The close came last and is handled last: the connection is let go only now.
    expect(gateway.connectionCount()).toBe(0);
    await assembled.stop();
  });

  it('skips the heartbeat sweep while paused: a silent link is not timed out for the pause', async () => {
    const { time, log, assembled, link, client } = rig(true);
    const { gateway, entry, pause } = assembled;
    await gateway.start();
    entry.accept(link, { user: 'alice', device: 'd1' });
    await flush();
    pause!.pause();
    client.frame('{"type":"send","n":1}');
    time.advance(limits.heartbeatTimeoutMs * 3);
    expect(log).toEqual([]);
    pause!.resume();
    expect(log).toEqual(['in:{"type":"send","n":1}']);
    time.advance(limits.heartbeatTimeoutMs - limits.heartbeatSweepIntervalMs);
    expect(log).toEqual(['in:{"type":"send","n":1}']);
    time.advance(limits.heartbeatTimeoutMs);
    expect(log).toContain('closed:4408');
    await assembled.stop();
  });

  it('a crash while paused drops what waited; a drain handles only the closes that waited', async () => {
    for (const how of ['crash', 'stop'] as const) {
      const { log, assembled, link, client } = rig(true);
      const { gateway, entry, pause } = assembled;
      await gateway.start();
      entry.accept(link, { user: 'alice', device: 'd1' });
      await flush();
      pause!.pause();
      client.frame('{"type":"send","n":1}');
      client.close(1000);
      await assembled[how]();
      expect(log).toEqual([]);
      expect(gateway.connectionCount()).toBe(0);
      pause!.resume(); // the fault's end after the gateway went: nothing left to hand over
      expect(log).toEqual([]);
    }
  });

  it('is not there unless asked for: the listener gets the gateway itself, whose inputs run at once', async () => {
    const { log, assembled, link, client } = rig(false);
    expect(assembled.pause).toBeUndefined();
    expect(assembled.entry).toBe(assembled.gateway);
    await assembled.gateway.start();
    assembled.entry.accept(link, { user: 'alice', device: 'd1' });
    client.frame('{"type":"send","n":1}');
    expect(log).toEqual(['in:{"type":"send","n":1}']);
    await assembled.stop();
  });
});
