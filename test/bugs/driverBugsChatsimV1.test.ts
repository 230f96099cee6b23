// The client-side bugs (phone and driver, server/bugs/BugCatalogue.ts) through the chatsim.v1
// driver on the in-process reference cluster: each fails the property it breaks, the correct
// phone and driver pass them all.
import { afterEach, describe, expect, it } from 'vitest';
import { parseBugSet } from '../../server/bugs/BugCatalogue.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { withDriverBugs } from '../../simulator/bugs/driverBugs.ts';
import { phoneOptionsForBugs } from '../../simulator/bugs/phoneBugOptions.ts';
import { ALL_CAPABILITIES } from '../../simulator/drivers/DriverCapabilities.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { Phone } from '../../simulator/phone/Phone.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';
import { RecordingMetrics } from '../phone/fixtures.ts';
import { converse, sendAcrossDrop } from './driverBugRun.ts';

async function verdictsWith(h: Harness, bugNames: string, flow = converse): Promise<Map<string, string>> {
  const chat = await h.createChat('alice', 'direct', ['bob']);
  const tokens = { alice: await h.login('alice'), bob: await h.login('bob') };
  const bugs = parseBugSet(bugNames);
  const transport = new WsClientTransport();
  const startMs = h.time.nowMs();
  const results = await flow({
    chat, alice: 'alice', bob: 'bob', capabilities: ALL_CAPABILITIES,
    phones: (record, underBugs = (d) => d) => {
      const phone = (user: 'alice' | 'bob', seed: number) => new Phone({
        user, device: 'd1', token: tokens[user], gatewayUrls: h.gatewayUrls, chats: [{ id: chat, kind: 'direct', members: ['alice', 'bob'] }], friends: [],
        driver: withDriverBugs(underBugs(new ChatsimV1Driver(transport)), bugs), options: phoneOptionsForBugs(bugs),
        time: h.time, random: new SeededRandom(seed), history: { record }, metrics: new RecordingMetrics(), startMs,
      });
      return { alice: phone('alice', 1), bob: phone('bob', 2) };
    },
    elapsedMs: () => h.time.nowMs() - startMs,
    pass: async (ms) => {
      for (let left = ms; left > 0; left -= 50) { h.time.advance(50); await settle(5); }
    },
  });
  return new Map([...results].map(([id, r]) => [id, r.verdict]));
}

describe('client-side bugs through the chatsim.v1 driver on the reference cluster', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('the correct phone and driver pass B3, B5 and B6', async () => {
    h = await startHarness();
    const v = await verdictsWith(h, '');
    expect([v.get('B3'), v.get('B5'), v.get('B6')]).toEqual(['pass', 'pass', 'pass']);
  });

  it.each([
    ['ack-before-render', 'B3'],
    ['ignore-read-markers', 'B5'],
    ['swallow-trailing-receipt', 'B6'],
  ])('%s fails %s', async (bug, property) => {
    h = await startHarness();
    const v = await verdictsWith(h, bug);
    expect(v.get(property)).toBe('fail');
  });

  it('a send lost with the link is repeated after the reconnect (F1 passes); resume-without-replay never repeats it (F1 fails)', async () => {
    h = await startHarness();
    expect((await verdictsWith(h, '', sendAcrossDrop)).get('F1')).toBe('pass');
    await h.stop();
    h = await startHarness();
    expect((await verdictsWith(h, 'resume-without-replay', sendAcrossDrop)).get('F1')).toBe('fail');
  });
});
