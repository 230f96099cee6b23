// A phone worker thread: runs its share of the phones over real WebSockets, off the
// cluster's event loop, and reports progress, metrics and history back to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { JsonlHistoryWriter } from '../history/JsonlHistoryWriter.ts';
import { Metrics } from '../metrics/Metrics.ts';
import { WsClientTransport } from '../drivers/chatsimV1/WsClientTransport.ts';
import { PhoneFleet, applyFleetAction } from './PhoneFleet.ts';
import { countingRecorder } from './countingRecorder.ts';
import { LiveLatencies } from './liveLatency.ts';
import { GeneratorMonitor } from '../runtime/generatorMonitor.ts';
import type { MainToWorker, WorkerInit, WorkerProgress, WorkerToMain } from './workerProtocol.ts';
import { loadDriverFactory } from './phoneDrivers.ts';

const init = (workerData as { init: WorkerInit }).init;
const port = parentPort!;
const time = createSystemTime();
const monitor = new GeneratorMonitor();
const history = new JsonlHistoryWriter(init.historyPath);
const metrics = new Metrics(time, init.runStartEpochMs);
const random = new SeededRandom(init.seed).fork(`worker-${init.workerIndex}`);
const counts = { sent: 0, acked: 0, delivered: 0, errors: 0 };

const live = new LiveLatencies();
const recorder = countingRecorder(history, metrics, counts, live);

// A driver's library may leave a promise that a dead link rejects without anyone awaiting it
// (xmpp.js 0.14: read ECONNRESET from an established socket when ejabberd restarts under load;
// the driver has the same loss as a closed link already). Such a rejection is one phone's lost
// link and must not end the worker with every phone on it: counted (worker.droppedLinkRejections).
// Any other unhandled rejection still ends the worker, as it would without this handler.
const LINK_ERROR_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT']);
process.on('unhandledRejection', (reason) => {
  if (reason instanceof Error && LINK_ERROR_CODES.has((reason as NodeJS.ErrnoException).code ?? '')) return void metrics.increment('worker.droppedLinkRejections');
  throw reason;
});

// The main thread loaded the same driver before starting this worker: a failure here is unexpected.
const driver = await loadDriverFactory(init.driver);
if (!driver.ok) throw new Error(driver.message);
const driverOptions = init.driverOptions ?? {};
const fleet = new PhoneFleet({
  phones: init.phones, gatewayUrls: init.gatewayUrls, load: init.load, bugs: init.bugs, time,
  randomFor: (spec) => random.fork(`${spec.user}/${spec.device}`),
  transport: new WsClientTransport(), history: recorder, metrics, runStartEpochMs: init.runStartEpochMs,
  driverFor: (spec, link) => driver.factory({ user: spec.user, device: spec.device, transport: link, time, options: driverOptions }),
});
fleet.start();

function progress(): WorkerProgress {
  return { connected: fleet.connectedCount(), phones: fleet.size, ...counts, eventLoopLagMsP99: monitor.lagMsP99(), cpuMs: monitor.cpuMs() };
}

const ticker = time.every(1000, () => {
  history.flush();
  port.postMessage({ type: 'progress', progress: { ...progress(), latency: live.takeEncoded() } } satisfies WorkerToMain);
});

port.on('message', (message: MainToWorker) => {
  if (message.type === 'heal') {
    fleet.heal(message.quiesceMs);
    return;
  }
  if (message.type === 'event') {
    applyFleetAction(fleet, message.action);
    return;
  }
  void finish();
});

async function finish(): Promise<void> {
  try {
    ticker.cancel();
    const final = progress();
    fleet.finish();
    monitor.stop();
    await history.close();
    port.postMessage({ type: 'done', metrics: metrics.encode(), progress: final, historyEvents: history.eventsWritten } satisfies WorkerToMain);
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).stack ?? String(error) } satisfies WorkerToMain);
  }
}
