// 4. Fan-out: one message to a 1,000-member group spread over 4 gateways. Broker publishes per
// message (one per gateway holding members: 4) and the time from the send until the last member
// device received it, next to a raw ws server broadcasting one frame to as many connections.
import { startChild } from './lib/child.ts';
import { figure, type BenchContext, type BenchOutcome, type Benchmark } from './lib/types.ts';
import { median, round } from './lib/util.ts';
import { BENCH_LIMITS } from './throughput.ts';

const PROFILES = { quick: { members: 1000, messages: 5 }, full: { members: 1000, messages: 20 } } as const;
const GATEWAYS = 4;

export const fanout: Benchmark = {
  name: 'fanout',
  title: 'Group fan-out over 4 gateways',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const { members, messages } = PROFILES[ctx.profile];
    // The cluster first.
    const cluster = await startChild('servers/clusterServer.ts', { args: [JSON.stringify({ gateways: GATEWAYS, chatServers: 2, limits: BENCH_LIMITS })] });
    const load = await startChild('load/loadClient.ts');
    let clusterTimes: number[];
    let publishesPerMessage: number;
    let publishes: Record<string, number>;
    try {
      const { gatewayUrls } = await cluster.request<{ gatewayUrls: string[] }>('address');
      const group = await cluster.request<{ chat: string; tokens: string[] }>('group', { prefix: 'fan', members }, 120_000);
      const s = await load.request<{ connected: number }>('connect', { name: 'sender', urls: [gatewayUrls[0]!], tokens: [group.tokens[0]!], count: 1, hello: true });
      // Members 1..n-1 round-robin over the 4 gateways.
      const m = await load.request<{ connected: number }>('connect', { name: 'members', urls: gatewayUrls, tokens: group.tokens.slice(1), count: members - 1, hello: true }, 120_000);
      if (s.connected !== 1 || m.connected !== members - 1) throw new Error(`fan-out: ${m.connected + s.connected} of ${members} connected`);
      await load.request('fanout', { sender: 'sender', members: 'members', chat: group.chat, messages: 2 }, 120_000); // warm-up
      await cluster.request('resetBroker');
      const r = await load.request<{ times: number[] }>('fanout', { sender: 'sender', members: 'members', chat: group.chat, messages }, 60_000 + messages * 35_000);
      clusterTimes = r.times;
      const stats = await cluster.request<{ publishes: Record<string, number> }>('stats');
      publishes = stats.publishes;
      // Publishes to gateway channels, less the sender's own `sent` reply (one per message).
      const toGateways = Object.entries(publishes).filter(([ch]) => ch.startsWith('gw:')).reduce((n, [, c]) => n + c, 0);
      publishesPerMessage = (toGateways - messages) / messages;
    } finally {
      await load.stop();
      await cluster.stop();
    }
    // The raw peer: the echo server broadcasting "B:..." to the same number of connections.
    const echo = await startChild('servers/echoServer.ts');
    const rawLoad = await startChild('load/loadClient.ts');
    let rawTimes: number[];
    try {
      const { url } = await echo.request<{ url: string }>('address');
      await rawLoad.request('connect', { name: 'all', urls: [url], count: members, hello: false }, 120_000);
      await rawLoad.request('broadcast', { name: 'all', messages: 2 }, 120_000);
      rawTimes = (await rawLoad.request<{ times: number[] }>('broadcast', { name: 'all', messages }, 60_000 + messages * 35_000)).times;
    } finally {
      await rawLoad.stop();
      await echo.stop();
    }
    const cMed = median(clusterTimes);
    const rMed = median(rawTimes);
    ctx.log(`  cluster: ${round(publishesPerMessage, 2)} broker publishes per message, last render after ${round(cMed, 1)} ms (median); raw broadcast ${round(rMed, 1)} ms`);
    return {
      method: `A group of ${members} users (server/Cluster.ts in its own process, ${GATEWAYS} gateways, 2 chat servers, the broker wrapped in server/memory/CountingBroker.ts); `
        + `the sender on gateway 1, the other ${members - 1} members round-robin over the ${GATEWAYS} gateways, all in one load process. ${messages} messages are sent one at a time `
        + '(after 2 warm-up messages); each is timed from the send to the moment the last member connection received and parsed its `message` frame (one clock: the load process). '
        + 'Publishes per message = broker publishes to gateway channels during the timed messages, less the sender\'s own `sent` reply, divided by the messages. '
        + `The peer: the raw ws echo server broadcasting one frame ("B:" prefix) to ${members} connections, timed the same way.`,
      figures: [
        figure({
          id: 'fanout-publishes', label: `broker publishes per message (${members} members, ${GATEWAYS} gateways)`, ours: publishesPerMessage, unit: 'publishes',
          peer: GATEWAYS, peerName: 'one per gateway', ratio: publishesPerMessage / GATEWAYS, ratioMeaning: 'publishes per message / gateways (1.0: exactly one per gateway)',
          goal: { op: '==', value: 1, text: 'exactly one publish per gateway per message (4)' },
          gate: { op: '<=', floor: 1, margin: 'exact: any extra publish per message is a routing regression' },
        }),
        figure({
          id: 'fanout-time', label: `time to the last of ${members - 1} renders (median)`, ours: cMed, unit: 'ms', peer: rMed, peerName: 'raw ws broadcast',
          ratio: cMed / rMed, ratioMeaning: 'cluster fan-out time / raw ws broadcast time (lower is better)',
          gate: { op: '<=', floor: 20, margin: 'a large regression only: the ratio was about 2-4 when the gate was set' },
          note: `cluster max ${round(Math.max(...clusterTimes), 1)} ms, raw max ${round(Math.max(...rawTimes), 1)} ms over ${messages} messages`,
        }),
      ],
      details: { members, messages, gateways: GATEWAYS, clusterTimesMs: clusterTimes.map((t) => round(t, 2)), rawTimesMs: rawTimes.map((t) => round(t, 2)), publishes },
    };
  },
};
