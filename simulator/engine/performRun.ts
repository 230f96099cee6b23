import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TimeSource } from '../../server/ports/Clock.ts';
import { checkRun } from '../check/checkRun.ts';
import type { PropertyResult } from '../check/PropertyResult.ts';
import { runLive, type RunProgress } from './LiveRun.ts';
import { runSim } from './sim/SimRun.ts';
import { factsToRecord, saveRunRecord } from '../history/runRecord.ts';
import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { Metrics } from '../metrics/Metrics.ts';
import type { SampleStats } from '../metrics/hdrStats.ts';
import { observeHistoryLatencies } from '../metrics/historyLatencies.ts';
import { breakdowns, filteredStats, timeSeries } from '../metrics/tagBreakdown.ts';
import { taggedSamples, type TaggedSample } from '../metrics/taggedSamples.ts';
import { buildSummary, lookupMetric, type Summary, type ThresholdResult } from '../report/Summary.ts';
import { connectionSeries } from '../report/connectionSeries.ts';
import { runPhases } from '../report/runPhases.ts';
import { timeSeriesRows, writeReports, type TimeSeriesRow } from '../report/writeReports.ts';
import { buildInfo } from '../runtime/buildInfo.ts';
import type { Scenario } from '../scenario/Scenario.ts';
import { chatServerClockOffsetMaxMs } from './clocks.ts';
import { evaluateThreshold, type Threshold } from '../scenario/thresholds.ts';

export interface PerformRunArgs {
  /** The scenario file as the user named it (for the summary and reproduce line). */
  file: string;
  scenario: Scenario;
  outDir: string;
  reproduce: string;
  checks: 'core' | 'all';
  /** Wall clock for the live engine and report stamps. */
  time: TimeSource;
  workers?: number;
  /** Live engine, a cluster it starts: the HTTP API's port; gateways listen on the ports after it (default: any free). */
  basePort?: number;
  onLog?: (line: string) => void;
  onProgress?: (progress: RunProgress) => void;
}

export interface PerformRunResult {
  summary: Summary;
  properties: PropertyResult[];
  /** The report files written (summary.json, junit.xml, report.html, ...). */
  files: string[];
  historyPath?: string;
  /** The merged history (absent when the run could not complete). */
  events?: HistoryEvent[];
  /** The per-second time series (as timeseries.jsonl); absent when the run could not complete. */
  timeSeries?: TimeSeriesRow[];
}

/**
 * One run, start to end, as `chatsim run` does it: run the scenario on its engine, check the
 * history, save run.json and the resolved scenario (scenario.yaml, loadable by `chatsim run`),
 * evaluate thresholds and write the reports. `chatsim sim` and `chatsim shrink` use it too, so
 * every run directory they leave behind is one `chatsim check` and `chatsim shrink` can read.
 */
export async function performRun(args: PerformRunArgs): Promise<PerformRunResult> {
  const { scenario, file, outDir, reproduce, time } = args;
  const log = args.onLog ?? (() => undefined);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'scenario.yaml'), scenarioYaml(scenario));
  const outcome = scenario.engine === 'sim'
    ? await runSim({ scenario, outDir, onLog: log, ...(args.onProgress ? { onProgress: args.onProgress } : {}) })
    : await runLive({ scenario, outDir, time, workers: args.workers, onLog: log, ...(args.basePort !== undefined ? { basePort: args.basePort } : {}), ...(args.onProgress ? { onProgress: args.onProgress } : {}) });
  if (!outcome.ok) {
    const summary = buildSummary({
      scenario: { name: scenario.name, path: file }, seed: scenario.seed, engine: scenario.engine, durationMs: 0, properties: [], thresholds: [],
      metrics: new Metrics(time).snapshot(), phones: 0, faults: [], generator: { cpuPercent: 0, eventLoopLagMsP99: 0 }, reproduce,
      runFailed: { code: outcome.code, message: outcome.message }, build: buildInfo(),
    });
    const { files } = await writeReports(outDir, { summary, metrics: new Metrics(time).snapshot(), faults: [], runDir: outDir });
    return { summary, properties: [], files };
  }
  const metrics = new Metrics(time);
  for (const encoded of outcome.encodedMetrics) metrics.addEncoded(encoded);
  observeHistoryLatencies(outcome.events, outcome.runStartEpochMs, metrics);
  const snapshot = metrics.snapshot();
  const presenceTtlMs = scenario.cluster.limits.presenceTtlMs;
  const serverClockOffsetMaxMs = chatServerClockOffsetMaxMs(scenario);
  const properties = checkRun(outcome.events, outcome.facts, {
    presenceDebounceMs: scenario.cluster.presenceDebounceMs, seed: scenario.seed, reproduce, checks: args.checks,
    ...(presenceTtlMs !== undefined ? { presenceTtlMs } : {}), ...(outcome.facts.friendsOfUser ? { friendsOfUser: outcome.facts.friendsOfUser } : {}),
    ...(serverClockOffsetMaxMs > 0 ? { serverClockOffsetMaxMs } : {}),
  });
  await saveRunRecord(outDir, {
    schemaVersion: 1, scenario: { name: scenario.name, path: file }, seed: scenario.seed, engine: scenario.engine, reproduce,
    runStartEpochMs: outcome.runStartEpochMs, presenceDebounceMs: scenario.cluster.presenceDebounceMs, bugs: scenario.bugs, facts: factsToRecord(outcome.facts),
    ...(presenceTtlMs !== undefined ? { presenceTtlMs } : {}), ...(outcome.facts.friendsOfUser ? { friendsOfUser: [...outcome.facts.friendsOfUser] } : {}),
    ...(serverClockOffsetMaxMs > 0 ? { serverClockOffsetMaxMs } : {}),
  });
  const phases = runPhases(scenario, outcome.events);
  const samples = taggedSamples(outcome.events, { chatMembers: outcome.facts.chatMembers, phases, faults: outcome.faults, ...(outcome.facts.profileOfDevice ? { profileOfDevice: outcome.facts.profileOfDevice } : {}) });
  const draft = (thresholds: ThresholdResult[]): Summary => buildSummary({
    // The load phase only: the engines report the whole run (load, heal, collection), and rates per second are of the load.
    scenario: { name: scenario.name, path: file }, seed: scenario.seed, engine: scenario.engine, durationMs: Math.min(outcome.durationMs, scenario.durationMs),
    properties, thresholds, metrics: snapshot, phones: outcome.phones, faults: outcome.faults, faultsNotTaken: outcome.faultsNotTaken, generator: outcome.generator, reproduce,
    phases, build: buildInfo(), breakdowns: breakdowns(samples),
  });
  const summary = draft(evaluateThresholds(scenario.thresholds, draft([]), samples));
  const connections = connectionSeries(outcome.events);
  const points = timeSeries(samples, connections.connected.length - 1);
  const reportInput = { summary, metrics: snapshot, faults: outcome.faults, connections, points, runDir: outDir };
  const { files } = await writeReports(outDir, reportInput);
  return { summary, properties, files, historyPath: outcome.historyPath, events: outcome.events, timeSeries: timeSeriesRows(reportInput) };
}

/** A threshold with a tag filter is judged on the tagged samples; one without, on the summary's histograms. */
function evaluateThresholds(thresholds: readonly Threshold[], base: Summary, samples: readonly TaggedSample[]): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const { tags } = threshold;
    const lookup = Object.keys(tags).length === 0
      ? (metric: string, stat: string) => lookupMetric(base, metric, stat)
      : (metric: string, stat: string) => filteredStats(samples, metric, tags)[stat as keyof SampleStats] ?? undefined;
    const { ok, actual } = evaluateThreshold(threshold, lookup);
    return { threshold, actual, ok };
  });
}

/**
 * The resolved scenario as YAML: every default filled in, durations in ms. The YAML shape is
 * the Scenario type field for field, so `chatsim run` loads it back unchanged.
 */
export function scenarioYaml(scenario: Scenario): string {
  const { target: _target, ...rest } = scenario;
  // Thresholds go back as written: the loader parses them again.
  return `# The scenario exactly as it ran (defaults filled in, durations in ms).\n${stringify({ ...rest, thresholds: rest.thresholds.map((t) => t.text) })}`;
}
