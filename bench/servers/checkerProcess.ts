// Runs bench/checkHistory.ts's timing in its own process for the checkers benchmark.
import { timeCheckHistory } from '../checkHistory.ts';
import { serveParent } from '../lib/child.ts';

serveParent({ check: ({ events }: { events: number }) => timeCheckHistory(events) });
