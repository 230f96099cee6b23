// Issue 14, R5 (seed 672474; severe form seeds 673334, 674414): a gateway whose presence entries
// lapsed while it was cut off from the backends must put them back the moment it heals. Stamping
// the refresh time while partitioned made the re-put wait up to presenceTtlMs / 3 after the heal,
// and pushes routed meanwhile missed the device (a message acknowledged during the heal never
// reached a member who had already made its final sync).
import { describe, expect, it } from 'vitest';
import { Gateway } from '../../server/gateway/Gateway.ts';
import type { ServerConnection } from '../../server/gateway/ServerConnection.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

/** A link the test drives by hand: frames in through `frame`, frames out collected in `sent`. */
function fakeLink(): ServerConnection & { sent: string[]; frame(text: string): void } {
  let onFrame: (text: string, bytes: number) => void = () => undefined;
  const sent: string[] = [];
  return {
    sent,
    frame: (text) => onFrame(text, Buffer.byteLength(text)),
    send: (text) => { sent.push(text); },
    bufferedBytes: () => 0,
    close: () => undefined,
    terminate: () => undefined,
    onFrame: (handler) => { onFrame = handler; },
    onClose: () => undefined,
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('a gateway healing from a partition', () => {
  it('puts back presence entries that lapsed while it was cut off at once, not a third of the TTL later', async () => {
    const time = new ManualTime();
    const presence = new MemoryPresenceStore(time);
    const limits = resolveLimits({ presenceTtlMs: 9_000, heartbeatTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 });
    const gateway = new Gateway({ id: 'gw1', time, broker: new MemoryBroker(), queue: new MemoryInboundQueue({ timers: time }), presence, limits });
    await gateway.start();
    const link = fakeLink();
    gateway.accept(link, { user: 'alice', device: 'd1' });
    await flush();
    expect((await presence.getMany(['alice'])).get('alice')!.entries).toHaveLength(1);

    await gateway.partition();
    // The phone pings every second throughout; the entry cannot be refreshed and lapses.
    for (let s = 1; s <= 10; s++) {
      time.advance(1_000);
      link.frame('{"type":"ping"}');
    }
    await flush();
    expect((await presence.getMany(['alice'])).get('alice')!.entries).toHaveLength(0);

    await gateway.healPartition();
    await flush();
    // Routes are back before any push could be missed: no frame needed, no throttle waited out.
    expect((await presence.getMany(['alice'])).get('alice')!.entries).toHaveLength(1);
    await gateway.stop();
  });

  it('keeps the entry of a connection it still holds: the refresh throttle leaves room for the heartbeat timeout (R6)', async () => {
    const time = new ManualTime();
    const presence = new MemoryPresenceStore(time);
    // A TTL above the heartbeat timeout, but below it plus a third of itself.
    const limits = resolveLimits({ presenceTtlMs: 8_000, heartbeatTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, heartbeatSweepIntervalMs: 1_000 });
    const gateway = new Gateway({ id: 'gw1', time, broker: new MemoryBroker(), queue: new MemoryInboundQueue({ timers: time }), presence, limits });
    await gateway.start();
    const link = fakeLink();
    gateway.accept(link, { user: 'alice', device: 'd1' });
    await flush();
    for (let s = 1; s <= 2; s++) {
      time.advance(1_000);
      link.frame('{"type":"ping"}');
      await flush();
    }
    // Silent from 2 s on: the gateway holds the connection until its sweep after 8 s.
    for (let t = 2_500; t < 8_000 + limits.heartbeatSweepIntervalMs; t += 500) {
      time.advance(500);
      await flush();
      if (gateway.connectionCount() === 0) break;
      expect((await presence.getMany(['alice'])).get('alice')!.entries, `at ${t + 500} ms`).toHaveLength(1);
    }
    await gateway.stop();
  });
});
