import { mkdir } from 'node:fs/promises';
import type { ClusterControl } from '../../server/ClusterControl.ts';
import { BUG_CATALOGUE } from '../../server/bugs/BugCatalogue.ts';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import type { TimeSource } from '../../server/ports/Clock.ts';
import { EJABBERD_XMPP_DEFAULT_URL, type Scenario } from '../scenario/Scenario.ts';
import type { RunProgress } from '../report/RunProgress.ts';
import type { FaultWindow } from '../history/FaultWindow.ts';
import type { ChatServerClockControl } from './clocks.ts';
import { addInterruptCleanup } from './interruptCleanups.ts';
import { WallClock } from './live/WallClock.ts';
import { WorkerPhoneHost } from './live/WorkerPhoneHost.ts';
import { driverCapabilitiesOf } from './phoneDrivers.ts';
import { fetchApi, type ApiPort } from './provisionTarget.ts';
import { chatsimProvisioner, type TargetProvisioner } from './TargetProvisioner.ts';
import { EjabberdAdmin } from '../targets/ejabberd/EjabberdAdmin.ts';
import { EjabberdProvisioner, newUserPrefix } from '../targets/ejabberd/EjabberdProvisioner.ts';
import { ejabberdFaultHooks } from '../targets/ejabberd/ejabberdRestart.ts';
import type { TargetFaultHooks } from '../faults/faultKinds.ts';
import { readPersisted } from './readPersisted.ts';
import { runSkeleton, type RunOutcome } from './runSkeleton.ts';
import { startCluster, type StartedCluster } from './startCluster.ts';

export type { FaultWindow, RunProgress };
/** The outcome of either engine (runSkeleton.ts RunOutcome). */
export type LiveRunOutcome = RunOutcome;

export interface LiveRunOptions {
  scenario: Scenario;
  /** Run directory: worker histories are written here, then merged into history.jsonl.gz. */
  outDir: string;
  time: TimeSource;
  workers?: number;
  /** The HTTP API's port of the cluster this run starts; gateways on the ports after it (default: any free). */
  basePort?: number;
  onProgress?: (progress: RunProgress) => void;
  onLog?: (line: string) => void;
}

/**
 * The live engine: starts the cluster (or uses the target), then runs the shared run
 * (runSkeleton) on the wall clock with the phones in worker threads over real WebSockets on
 * loopback, and stops the cluster however the run ends.
 */
export async function runLive(options: LiveRunOptions): Promise<RunOutcome> {
  const { scenario, time } = options;
  const log = options.onLog ?? (() => undefined);
  const random = new SeededRandom(scenario.seed);
  await mkdir(options.outDir, { recursive: true });

  let started: StartedCluster | undefined;
  let httpUrl: string;
  let adminToken: string | undefined;
  if (scenario.target) {
    const serverBugs = scenario.bugs.filter((b) => BUG_CATALOGUE.find((e) => e.name === b)?.where === 'server');
    if (serverBugs.length > 0) log(`server bugs ${serverBugs.join(', ')} cannot be injected into --target ${scenario.target.httpUrl}; only phone bugs apply`);
    httpUrl = scenario.target.httpUrl;
    // No default: provisionTarget refuses to go on without it once the target answers.
    adminToken = scenario.target.adminToken;
  } else {
    const result = await startCluster(scenario, time, random, options.outDir, log, options.basePort ?? 0);
    if (!result.ok) return result;
    started = result.started;
    log(`cluster: API ${started.address.httpUrl}, gateways ${started.address.gatewayUrls.join(' ')}`);
    httpUrl = started.address.httpUrl;
    adminToken = started.cluster.adminToken;
  }
  // Stopped once, whether the run ends or the process is interrupted (the CLI's signal handler).
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= started?.stop() ?? Promise.resolve());
  const unregister = addInterruptCleanup(stop);
  try {
    return await runAgainst(options, httpUrl, adminToken, started?.cluster, random, log, started?.chatServerClocks);
  } finally {
    unregister();
    await stop();
  }
}

async function runAgainst(options: LiveRunOptions, httpUrl: string, adminToken: string | undefined, cluster: ClusterControl | undefined, random: SeededRandom, log: (line: string) => void, chatServerClocks?: ChatServerClockControl): Promise<RunOutcome> {
  const { time, outDir } = options;
  const scenario = withOwnAccounts(options.scenario);
  const api = fetchApi(httpUrl);
  // The driver is loaded here first, so a module that does not load ends the run before any phone starts.
  const driver = await driverCapabilitiesOf(scenario, time);
  if (!driver.ok) return { ok: false, code: 'DRIVER_FAILED', message: driver.message };
  const provisioner = provisionerOf(scenario, api, adminToken);
  try {
    return await runSkeleton({
      driverCapabilities: driver.capabilities,
      scenario, outDir, clock: new WallClock(time), random, log, ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      phones: new WorkerPhoneHost(scenario, time, outDir, log, options.workers),
      target: {
        api, provisioner,
        ...(cluster ? { cluster, readPersisted: async (chats: Iterable<string>) => readPersisted(await cluster.messageStore(), chats) } : { faultHooks: faultHooksOf(scenario) }),
        ...(chatServerClocks ? { chatServerClocks } : {}),
      },
      provisionLine: (population) => `provisioning ${population.users.length} users, ${population.chats.length} chats, ${population.friendships.length} friendships at ${httpUrl}`,
    });
  } finally {
    await provisioner.release?.();
  }
}

/**
 * An ejabberd target's accounts are this run's own: a random prefix (`c1f2e3d4a-u3`) that the
 * provisioner registers under and the driver signs in with (driverOptions.userPrefix), so two
 * runs against one ejabberd never share, or unregister, each other's users.
 */
function withOwnAccounts(scenario: Scenario): Scenario {
  const target = scenario.target;
  if (target?.kind !== 'ejabberd' || typeof target.driverOptions?.userPrefix === 'string') return scenario;
  return { ...scenario, target: { ...target, driverOptions: { ...target.driverOptions, userPrefix: newUserPrefix() } } };
}

/** chatsim's HTTP API, or ejabberd's (scenario target.kind). */
function provisionerOf(scenario: Scenario, api: ApiPort, adminToken: string | undefined): TargetProvisioner {
  const target = scenario.target;
  if (target?.kind !== 'ejabberd') return chatsimProvisioner(api, adminToken);
  const domain = typeof target.driverOptions?.domain === 'string' ? target.driverOptions.domain : 'localhost';
  const admin = new EjabberdAdmin({ baseUrl: `${target.httpUrl}/api`, domain });
  const userPrefix = typeof target.driverOptions?.userPrefix === 'string' ? target.driverOptions.userPrefix : undefined;
  return new EjabberdProvisioner({ admin, xmppUrl: target.xmppUrl ?? EJABBERD_XMPP_DEFAULT_URL, ...(userPrefix !== undefined ? { userPrefix } : {}) });
}

/** A target's server faults: ejabberd restarts (scripts/ejabberd.sh); a chatsim --target takes none. */
function faultHooksOf(scenario: Scenario): TargetFaultHooks {
  const target = scenario.target;
  if (target?.kind === 'ejabberd') return ejabberdFaultHooks({ httpUrl: target.httpUrl, xmppUrl: target.xmppUrl ?? EJABBERD_XMPP_DEFAULT_URL });
  return { name: `--target ${target?.httpUrl ?? ''}` };
}
