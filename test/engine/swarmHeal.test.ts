// The swarm's heal is long enough to page through the run's sends (drawScenario healMsFor).
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../server/protocol/limits.ts';
import { DEFAULT_SWARM_BOUNDS, drawScenario } from '../../simulator/swarm/drawScenario.ts';

describe('the swarm heal', () => {
  // Swarm seed 5302990: 853 sends, 5 messages a sync page, a device back 4.5 s before the heal;
  // the 20 s heal was too short to page them and A5 took the device still paging for a loss.
  it('covers paging every send of the run at syncMessagesMax a round trip', () => {
    const { scenario } = drawScenario(5302990);
    expect(scenario.cluster.limits.syncMessagesMax).toBe(5);
    expect(scenario.healMs).toBeGreaterThanOrEqual(Math.ceil(853 / 5) * 500);
  });

  it('stays at the bound when pages are the default size, and never goes below it', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { scenario } = drawScenario(seed);
      expect(scenario.healMs).toBeGreaterThanOrEqual(DEFAULT_SWARM_BOUNDS.healMs);
      if ((scenario.cluster.limits.syncMessagesMax ?? DEFAULT_LIMITS.syncMessagesMax) === DEFAULT_LIMITS.syncMessagesMax) expect(scenario.healMs).toBe(DEFAULT_SWARM_BOUNDS.healMs);
    }
  });
});
