// Sim seed 3000710 (D6): u5 logged out while its gateway was paused. The gateway handled the
// close at once (entry removed, friends told offline after the debounce) but the frames u5 had
// sent just before it only on resume, and their presence refresh, finding the entry gone, put
// it back for a connection the gateway no longer held. Friends saw u5 online again for a whole
// presenceTtlMs, then offline a second time, for one absence.
import { describe, expect, it } from 'vitest';
import { assembleGateway, type AssembledGateway } from '../../server/assembly/assembleGateway.ts';
import { NO_BUGS } from '../../server/bugs/BugCatalogue.ts';
import { ServerBugEquipment } from '../../server/bugs/serverBugEquipment.ts';
import { Gateway, presenceRefreshEveryMs } from '../../server/gateway/Gateway.ts';
import type { ServerConnection } from '../../server/gateway/ServerConnection.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryBroker } from '../../server/memory/MemoryBroker.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryPresenceStore } from '../../server/memory/MemoryPresenceStore.ts';
import { NO_METRICS } from '../../server/ports/Metrics.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

/** A link the test drives by hand: frames in through `frame`, the client's close through `closedByClient`. */
function fakeLink(): ServerConnection & { frame(text: string): void; closedByClient(code: number): void } {
  let onFrame: (text: string, bytes: number) => void = () => undefined;
  let onClose: (code: number) => void = () => undefined;
  return {
    frame: (text) => onFrame(text, Buffer.byteLength(text)),
    closedByClient: (code) => onClose(code),
    send: () => undefined,
    bufferedBytes: () => 0,
    close: () => undefined,
    terminate: () => undefined,
    onFrame: (handler) => { onFrame = handler; },
    onClose: (handler) => { onClose = handler; },
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const limits = resolveLimits({ presenceTtlMs: 15_000, heartbeatTimeoutMs: 3_000, heartbeatIntervalMs: 1_000 });

async function entries(presence: MemoryPresenceStore): Promise<number> {
  return (await presence.getMany(['alice'])).get('alice')!.entries.length;
}

/** A gateway as the in-process cluster assembles it for a run with pause-gateway: behind a GatewayPause. */
function pausableGateway(time: ManualTime, presence: MemoryPresenceStore): AssembledGateway & { pause: NonNullable<AssembledGateway['pause']> } {
  const assembled = assembleGateway({
    id: 'gw1', time, limits, metrics: NO_METRICS, equipment: new ServerBugEquipment(NO_BUGS), pausable: true,
    ports: { broker: new MemoryBroker(), queue: new MemoryInboundQueue({ timers: time }), presence },
  });
  return { ...assembled, pause: assembled.pause! };
}

describe('presence of a connection the gateway has let go', () => {
  it('a close reaching a paused gateway is read after the frames before it, and nothing puts the entry back', async () => {
    const time = new ManualTime();
    const presence = new MemoryPresenceStore(time);
    const pausable = pausableGateway(time, presence);
    const { gateway, entry, pause } = pausable;
    await gateway.start();
    const link = fakeLink();
    entry.accept(link, { user: 'alice', device: 'd1' });
    await flush();
    expect(await entries(presence)).toBe(1);

    pause.pause();
    // Past the refresh throttle, so the next frame refreshes the entry.
    time.advance(presenceRefreshEveryMs(limits) + 1);
    link.frame('{"type":"ping"}');
    link.closedByClient(1000);
    await flush();
    // A stopped process has read neither yet: the connection is still held, its entry alive.
    expect(gateway.connectionCount()).toBe(1);
    expect(await entries(presence)).toBe(1);

    pause.resume();
    await flush();
    expect(gateway.connectionCount()).toBe(0);
    expect(await entries(presence)).toBe(0);
    await pausable.stop();
  });

  it('a gateway stopped while paused forgets a link that closed meanwhile, and its entry', async () => {
    const time = new ManualTime();
    const presence = new MemoryPresenceStore(time);
    const pausable = pausableGateway(time, presence);
    const { gateway, entry, pause } = pausable;
    await gateway.start();
    const link = fakeLink();
    entry.accept(link, { user: 'alice', device: 'd1' });
    await flush();
    pause.pause();
    link.closedByClient(1000);
    await pausable.stop();
    await flush();
    expect(gateway.connectionCount()).toBe(0);
    expect(await entries(presence)).toBe(0);
  });

  it('a refresh that finds the entry gone does not put it back when the connection closed meanwhile', async () => {
    const time = new ManualTime();
    const presence = new MemoryPresenceStore(time);
    // The store answers the refresh only when the test lets it (a slow round trip).
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const slow = Object.create(presence) as MemoryPresenceStore;
    slow.refresh = async (userId, connectionId, ttlMs) => {
      await gate;
      return presence.refresh(userId, connectionId, ttlMs);
    };
    const gateway = new Gateway({ id: 'gw1', time, broker: new MemoryBroker(), queue: new MemoryInboundQueue({ timers: time }), presence: slow, limits });
    await gateway.start();
    const link = fakeLink();
    gateway.accept(link, { user: 'alice', device: 'd1' });
    await flush();

    // Pings every second (the heartbeat timeout is shorter than the throttle) until one refreshes.
    let refreshes = 0;
    const refresh = slow.refresh.bind(slow);
    slow.refresh = async (...args) => { refreshes++; return refresh(...args); };
    while (refreshes === 0) {
      time.advance(1_000);
      link.frame('{"type":"ping"}');
      await flush();
    }
    link.closedByClient(1000);
    await flush();
    expect(gateway.connectionCount()).toBe(0);
    expect(await entries(presence)).toBe(0);
    release();
    await flush();
    expect(await entries(presence)).toBe(0);
    await gateway.stop();
  });
});
