import type { Scenario } from './Scenario.ts';
import type { ScenarioError } from './ScenarioError.ts';
import { driverError } from './driverPath.ts';
import { contradictoryLimits } from './contradictoryLimits.ts';
import { scenarioEventErrors } from './scenarioEvents.ts';
import { parseContactPoint } from '../../server/cassandra/client.ts';
import { shareableAcrossProcesses } from '../../server/backends/openBackends.ts';

/** How far shares may be from summing to 1 (they are written by hand, e.g. 0.33 + 0.33 + 0.34). */
const SHARE_SUM_TOLERANCE = 0.001;

/** What a schema cannot say: sums, orderings, references between sections. */
export function semanticErrors(s: Scenario): ScenarioError[] {
  const errors: ScenarioError[] = [];
  const sumOf = (shares: number[]): number => shares.reduce((a, b) => a + b, 0);
  const networkSum = sumOf(s.network.map((n) => n.share));
  if (Math.abs(networkSum - 1) > SHARE_SUM_TOLERANCE) errors.push({ path: 'network', message: `shares must sum to 1, they sum to ${round(networkSum)}` });
  const deviceSum = sumOf(s.population.devices.map((d) => d.share));
  if (Math.abs(deviceSum - 1) > SHARE_SUM_TOLERANCE) errors.push({ path: 'population.devices', message: `shares must sum to 1, they sum to ${round(deviceSum)}` });
  if (s.target && s.target.kind !== 'ejabberd' && s.target.httpUrl === '') errors.push({ path: 'target.httpUrl', message: 'a chatsim target needs its HTTP API URL (or --target <url>)' });
  const driverProblem = s.target?.driver === undefined ? undefined : driverError(s.target.driver, s.engine);
  if (driverProblem) errors.push({ path: 'target.driver', message: driverProblem });
  const { size } = s.population.groups;
  if (size.min > size.max) errors.push({ path: 'population.groups.size', message: `min (${size.min}) is above max (${size.max})` });
  if (s.population.groups.count > 0 && size.max > s.population.users) errors.push({ path: 'population.groups.size.max', message: `groups of up to ${size.max} need at least that many users; population.users is ${s.population.users}` });
  const limit = s.cluster.limits.groupMembersMax;
  if (limit !== undefined && size.max > limit) errors.push({ path: 'population.groups.size.max', message: `above cluster.limits.groupMembersMax (${limit})` });
  if (s.load.bodyBytes.min > s.load.bodyBytes.max) errors.push({ path: 'load.bodyBytes', message: `min (${s.load.bodyBytes.min}) is above max (${s.load.bodyBytes.max})` });
  if (s.load.model === 'closed' && s.load.ramp.length === 0) errors.push({ path: 'load.ramp', message: 'the closed model needs at least one ramp stage' });
  if (s.load.model === 'open' && s.load.arrival.length === 0) errors.push({ path: 'load.arrival', message: 'the open model needs at least one arrival stage' });
  s.network.forEach((n, i) => {
    for (const key of ['stallMs', 'offlineMs'] as const) {
      if (n.profile[key].min > n.profile[key].max) errors.push({ path: `network[${i}].profile.${key}`, message: `min (${n.profile[key].min}) is above max (${n.profile[key].max})` });
    }
  });
  s.faults.forEach((f, i) => {
    if (f.atMs >= s.durationMs) errors.push({ path: `faults[${i}].atMs`, message: `${f.atMs} ms is not before the end of the load (durationMs ${s.durationMs} ms)` });
    if ('gateway' in f && f.gateway !== undefined && !s.target && f.gateway >= s.cluster.gateways) errors.push({ path: `faults[${i}].gateway`, message: `gateway ${f.gateway} does not exist: cluster.gateways is ${s.cluster.gateways} (indexes from 0)` });
    if (f.kind === 'lose-broker-channel' && f.channel === 'presence' && f.gateway !== undefined) errors.push({ path: `faults[${i}].gateway`, message: 'only channel gateway names a gateway: the presence channel is one for the whole cluster' });
    if (f.kind === 'drain-gateway' && !s.target && s.cluster.gateways === 1 && f.forMs === undefined) {
      errors.push({ path: `faults[${i}].forMs`, message: 'draining the only gateway for good leaves phones nowhere to connect: give forMs, or add a gateway' });
    }
    if (f.kind === 'clock-jump') errors.push(...clockJumpErrors(s, f, i));
    if ('chatServer' in f && f.chatServer !== undefined && !s.target && f.chatServer >= s.cluster.chatServers) errors.push({ path: `faults[${i}].chatServer`, message: `chat server ${f.chatServer} does not exist: cluster.chatServers is ${s.cluster.chatServers} (indexes from 0)` });
  });
  if ((s.clocks?.chatServerSkewMs ?? 0) > 0 && s.target) {
    errors.push({ path: 'clocks.chatServerSkewMs', code: 'CLOCK_NOT_SETTABLE', message: 'the chat servers of a --target are not the harness\'s: their clocks cannot be skewed' });
  }
  for (const [port, range] of Object.entries(s.sim.portLatencyMs)) {
    if (range.min > range.max) errors.push({ path: `sim.portLatencyMs.${port}`, message: `min (${range.min}) is above max (${range.max})` });
  }
  if (s.durationMs <= 0) errors.push({ path: 'durationMs', message: 'must be above 0' });
  if (!parseContactPoint(s.cluster.cassandra)) errors.push({ path: 'cluster.cassandra', message: `must be HOST:PORT with a port in 1..65535, got ${s.cluster.cassandra}` });
  if (s.cluster.processes === 'multi' && !shareableAcrossProcesses(s.cluster.implementations)) {
    errors.push({ path: 'cluster.implementations', message: 'a multi-process cluster shares every port between processes: leave implementations out, or make every one redis (store: cassandra)' });
  }
  errors.push(...contradictoryLimits(s));
  errors.push(...scenarioEventErrors(s));
  return errors;
}

/** A clock jump must step (byMs not 0), name only what its target has, and reach a clock the harness can set. */
function clockJumpErrors(s: Scenario, f: Extract<Scenario['faults'][number], { kind: 'clock-jump' }>, i: number): ScenarioError[] {
  const errors: ScenarioError[] = [];
  if (f.byMs === 0) errors.push({ path: `faults[${i}].byMs`, message: 'a jump of 0 ms does nothing' });
  if (f.target === 'phones' && f.chatServer !== undefined) errors.push({ path: `faults[${i}].chatServer`, message: 'only target chat-servers names a chat server' });
  if (f.target === 'chat-servers' && f.share !== undefined) errors.push({ path: `faults[${i}].share`, message: 'only target phones takes a share' });
  if (f.target === 'chat-servers' && s.target) errors.push({ path: `faults[${i}].target`, code: 'CLOCK_NOT_SETTABLE', message: 'the chat servers of a --target are not the harness\'s: their clocks cannot be stepped' });
  return errors;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
