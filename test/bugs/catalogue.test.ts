import { describe, expect, it } from 'vitest';
import { BUG_CATALOGUE, BUG_NAMES, describeBugs, isBugName, parseBugSet } from '../../server/bugs/BugCatalogue.ts';
import { SNOWFLAKE_SKEW_MS_MAX, snowflakeSkewMs } from '../../server/bugs/snowflakeSkew.ts';
import { IgnoreReadMarkersDriver } from '../../simulator/bugs/IgnoreReadMarkersDriver.ts';
import { withDriverBugs } from '../../simulator/bugs/driverBugs.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';

describe('the bug catalogue', () => {
  it('describes every bug once, with the properties it breaks', () => {
    expect(BUG_CATALOGUE.map((b) => b.name)).toEqual([...BUG_NAMES]);
    for (const bug of BUG_CATALOGUE) {
      expect(bug.breaks.length).toBeGreaterThan(0);
      for (const id of bug.breaks) expect(id).toMatch(/^[A-F]\d{1,2}$/);
      expect(bug.description.length).toBeGreaterThan(20);
    }
    expect(BUG_CATALOGUE.filter((b) => b.where === 'phone').map((b) => b.name)).toEqual(['swallow-trailing-receipt', 'no-reconnect-on-going-away', 'render-duplicate-push', 'render-out-of-order-push', 'fresh-install-stale-watermark', 'phone-wall-clock-presence']);
    // Driver bugs wrap any phone driver (simulator/bugs/driverBugs.ts): chatsim.v1 and XMPP alike.
    expect(BUG_CATALOGUE.filter((b) => b.where === 'driver').map((b) => [b.name, b.breaks[0]])).toEqual([['ack-before-render', 'B3'], ['ignore-read-markers', 'B5'], ['resume-without-replay', 'F1']]);
  });

  it('parses names and refuses unknown ones', () => {
    expect(isBugName('no-dedupe')).toBe(true);
    expect(isBugName('no-such-bug')).toBe(false);
    expect([...parseBugSet(' no-dedupe, sync-off-by-one ,')]).toEqual(['no-dedupe', 'sync-off-by-one']);
    expect(parseBugSet('').size).toBe(0);
    expect(() => parseBugSet('no-dedupe,typo')).toThrow(/typo/);
  });

  it('prints a table with one row per bug', () => {
    const lines = describeBugs().trimEnd().split('\n');
    expect(lines).toHaveLength(BUG_CATALOGUE.length + 2);
    expect(lines[0]).toMatch(/^name\s+where\s+breaks\s+description$/);
    for (const bug of BUG_CATALOGUE) expect(describeBugs()).toContain(bug.name);
  });

  it('gives chat servers different, bounded, reproducible clock skews', () => {
    const skews = ['cs1', 'cs2', 'cs3', 'cs4'].map(snowflakeSkewMs);
    for (const s of skews) expect(Math.abs(s)).toBeLessThanOrEqual(SNOWFLAKE_SKEW_MS_MAX);
    expect(new Set(skews).size).toBe(skews.length);
    expect(snowflakeSkewMs('cs1')).toBe(snowflakeSkewMs('cs1'));
  });
});

describe('driver bugs from a bug set', () => {
  it('wraps the driver only for the driver bugs named, keeping its protocol and capabilities', () => {
    const inner = new ChatsimV1Driver({ open: () => { throw new Error('not connected in this test'); } });
    expect(withDriverBugs(inner, new Set(['no-dedupe', 'swallow-trailing-receipt']))).toBe(inner);
    const bugged = withDriverBugs(inner, new Set(['ack-before-render', 'ignore-read-markers']));
    expect(bugged).toBeInstanceOf(IgnoreReadMarkersDriver);
    expect(bugged.protocol).toBe(inner.protocol);
    expect(bugged.capabilities).toBe(inner.capabilities);
  });

  it('chatsim bugs lists them', () => {
    expect(describeBugs()).toMatch(/^ack-before-render\s+driver\s+B3\s/m);
    expect(describeBugs()).toMatch(/^ignore-read-markers\s+driver\s+B5\s/m);
  });
});
