import type { TimeSource } from '../../../server/ports/Clock.ts';
import type { Random } from '../../../server/ports/Random.ts';
import type { HistoryEvent } from '../../history/HistoryEvent.ts';
import { Metrics } from '../../metrics/Metrics.ts';
import type { Scenario } from '../../scenario/Scenario.ts';
import type { ClientTransport } from '../../transport/ClientTransport.ts';
import { countingRecorder } from '../countingRecorder.ts';
import { LatencyWindow, LiveLatencies } from '../liveLatency.ts';
import { PhoneFleet } from '../PhoneFleet.ts';
import type { PhoneHost, PhoneProgress, PhonesCollected } from '../runSkeleton.ts';
import type { FleetControl } from '../EventPlayer.ts';
import type { WorkerPhoneSpec } from '../workerProtocol.ts';

/**
 * The simulation engine's PhoneHost: every phone in this thread on the simulated network,
 * recording into the run's history as it goes. Each phone's random stream is forked by its
 * user and device, so removing a phone leaves the others alone.
 */
export class SimPhoneHost implements PhoneHost {
  readonly groups = 1;
  private fleet: PhoneFleet | undefined;
  private metrics: Metrics | undefined;
  private readonly counts = { sent: 0, acked: 0, delivered: 0, errors: 0 };
  private readonly live = new LiveLatencies();
  private readonly latencyWindow = new LatencyWindow();

  constructor(private readonly scenario: Scenario, private readonly time: TimeSource, private readonly random: Random, private readonly network: ClientTransport) {}

  start(assignment: WorkerPhoneSpec[][], gatewayUrls: string[], runStartEpochMs: number, record: (e: HistoryEvent) => void): FleetControl {
    const { scenario, time, random } = this;
    const metrics = new Metrics(time, runStartEpochMs);
    const history = countingRecorder({ record }, metrics, this.counts, this.live);
    const fleet = new PhoneFleet({
      phones: assignment.flat(), gatewayUrls, load: scenario.load, bugs: scenario.bugs, time,
      randomFor: (spec) => random.fork(`phone:${spec.user}/${spec.device}`), transport: this.network, history, metrics, runStartEpochMs,
    });
    fleet.start();
    this.fleet = fleet;
    this.metrics = metrics;
    return fleet;
  }

  progress(elapsedMs: number): PhoneProgress {
    this.latencyWindow.push(elapsedMs, this.live.take());
    return { phones: this.fleet?.size ?? 0, connected: this.fleet?.connectedCount() ?? 0, ...this.counts, ...this.latencyWindow.p99s(elapsedMs) };
  }

  heal(quiesceMs: number): void {
    this.fleet?.heal(quiesceMs);
  }

  async collect(): Promise<PhonesCollected> {
    this.fleet?.finish();
    // One thread on a virtual clock: no generator to be the bottleneck.
    return { ok: true, encodedMetrics: this.metrics ? [this.metrics.encode()] : [], phones: this.fleet?.size ?? 0, generator: { cpuPercent: 0, eventLoopLagMsP99: 0 }, historyFiles: [] };
  }

  stop(): void {}
}
