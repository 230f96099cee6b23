// 6. The checkers: history events checked per second (the whole catalogue, A1 to F2, on a
// synthetic history a correct cluster would produce; see bench/checkHistory.ts), against the
// goal of 1,000,000 events in 20 s. Runs in its own process so the history's memory is its own.
import { startChild } from './lib/child.ts';
import { figure, type BenchContext, type BenchOutcome, type Benchmark } from './lib/types.ts';

const GOAL_EVENTS_PER_SECOND = 1_000_000 / 20;
const PROFILES = { quick: { events: 200_000 }, full: { events: 1_000_000 } } as const;

export const checkers: Benchmark = {
  name: 'checkers',
  title: 'History checkers, events per second',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const { events } = PROFILES[ctx.profile];
    const child = await startChild('servers/checkerProcess.ts', { nodeArgs: ['--max-old-space-size=8000'] });
    try {
      const r = await child.request<{ events: number; seconds: number; eventsPerSecond: number; verdicts: string; unexpectedFailures: string[] }>('check', { events }, 300_000);
      ctx.log(`  ${r.events} events in ${r.seconds.toFixed(2)} s: ${Math.round(r.eventsPerSecond)} events/s`);
      return {
        method: `bench/checkHistory.ts builds a deterministic synthetic history of about ${events.toLocaleString('en-US')} events (2,000 users, a quarter with two devices, `
          + '1,500 direct chats, 20 groups of 50 and one of 1,000; sends, renders, ticks, receipts, syncs, presence, typing) and times checkHistory (the whole '
          + 'catalogue) on it, in a child process. Ratio: events/s over the goal of 1,000,000 events in 20 s (50,000 events/s).',
        figures: [figure({
          id: 'checker-events', label: 'history events checked/s', ours: r.eventsPerSecond, unit: 'events/s', peer: GOAL_EVENTS_PER_SECOND, peerName: 'goal 1M in 20 s',
          ratio: r.eventsPerSecond / GOAL_EVENTS_PER_SECOND, ratioMeaning: 'events/s / 50,000 events/s',
          goal: { op: '>=', value: 1, text: '1,000,000 events checked in at most 20 s' },
          gate: { op: '>=', floor: 1, margin: 'the goal itself: a 3-10x drop from the quick-profile ratios measured when the gate was set (3.5 on a busy machine, 10 idle)' },
          ...(r.unexpectedFailures.length > 0 ? { note: `unexpected verdicts on a correct history: ${r.unexpectedFailures.join('; ')}` } : {}),
        })],
        details: { events: r.events, seconds: r.seconds, verdicts: r.verdicts },
      };
    } finally {
      await child.stop();
    }
  },
};
