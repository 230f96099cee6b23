// Watches the load generator itself: event-loop lag and CPU of this thread's process, so a
// report can say when the generator, not the system under test, was the bottleneck.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export class GeneratorMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly cpuStart = process.cpuUsage();

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
  }

  /** 99th percentile event-loop delay in ms since the start. */
  lagMsP99(): number {
    return this.histogram.percentile(99) / 1e6;
  }

  /** CPU time (user + system) used by the process since the start, in ms. */
  cpuMs(): number {
    const usage = process.cpuUsage(this.cpuStart);
    return (usage.user + usage.system) / 1000;
  }

  stop(): void {
    this.histogram.disable();
  }
}
