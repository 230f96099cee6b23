import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';

describe('heartbeats', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('closes a silent (half-open) connection with 4408 after heartbeatTimeoutMs and keeps one that pings', async () => {
    h = await startHarness({ limits: { heartbeatTimeoutMs: 10_000, heartbeatSweepIntervalMs: 1_000 } });
    const silent = await h.connect('silent');
    const chatty = await h.connect('chatty');
    for (let elapsedMs = 0; elapsedMs < 9_000; elapsedMs += 1_000) {
      chatty.sendRaw('{"type":"ping"}');
      await settle(5);
      h.time.advance(1_000);
    }
    await settle();
    expect(silent.closeCode).toBeUndefined();
    for (let i = 0; i < 3; i++) {
      chatty.sendRaw('{"type":"ping"}');
      await settle(5);
      h.time.advance(1_000);
    }
    expect(await silent.waitClosed()).toBe(4408);
    expect(chatty.closeCode).toBeUndefined();
    expect(chatty.ofType('pong').length).toBeGreaterThanOrEqual(12);
    // Its presence entry is gone too, so nothing is routed to the dead link.
    await settle();
    const presence = await h.cluster.backends.presence.getMany(['silent', 'chatty']);
    expect(presence.get('silent')!.entries).toHaveLength(0);
    expect(presence.get('chatty')!.entries).toHaveLength(1);
  });
});
