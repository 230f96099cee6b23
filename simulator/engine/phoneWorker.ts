// A phone worker thread: runs its share of the phones over real WebSockets, off the
// cluster's event loop, and reports progress, metrics and history back to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { JsonlHistoryWriter } from '../history/JsonlHistoryWriter.ts';
import { Metrics } from '../metrics/Metrics.ts';
import { ShapedTransport } from '../network/ShapedTransport.ts';
import { Phone } from '../phone/Phone.ts';
import { PhoneBehaviour } from '../phone/PhoneBehaviour.ts';
import { WsClientTransport } from '../phone/WsClientTransport.ts';
import { phoneOptionsForBugs } from '../bugs/phoneBugOptions.ts';
import { isBugName } from '../../server/bugs/BugCatalogue.ts';
import { GeneratorMonitor } from '../runtime/generatorMonitor.ts';
import type { MainToWorker, WorkerInit, WorkerProgress, WorkerToMain } from './workerProtocol.ts';
import type { HistoryEvent, HistoryRecorder } from '../history/HistoryEvent.ts';

const init = (workerData as { init: WorkerInit }).init;
const port = parentPort!;
const time = createSystemTime();
const monitor = new GeneratorMonitor();
const history = new JsonlHistoryWriter(init.historyPath);
const metrics = new Metrics(time, init.runStartEpochMs);
const random = new SeededRandom(init.seed).fork(`worker-${init.workerIndex}`);
const counts = { sent: 0, acked: 0, delivered: 0, errors: 0 };

/** Counts what progress shows while passing every event on to the history file. */
const recorder: HistoryRecorder = {
  record(event: HistoryEvent): void {
    if (event.type === 'invoke' && event.op === 'send') {
      counts.sent++;
      metrics.increment('messages.sent');
    } else if (event.type === 'ok' && event.op === 'send') {
      counts.acked++;
      metrics.increment('messages.acked');
    } else if (event.type === 'render') {
      counts.delivered++;
      metrics.increment('messages.delivered');
    } else if (event.type === 'error-frame') counts.errors++;
    history.record(event);
  },
};

const inner = new WsClientTransport();
const phoneOptions = phoneOptionsForBugs(new Set(init.bugs.filter(isBugName)));
const phones: Phone[] = [];
const behaviours: PhoneBehaviour[] = [];
const networks: ShapedTransport[] = [];
const startTimers: Array<{ cancel(): void }> = [];

for (const spec of init.phones) {
  const phoneRandom = random.fork(`${spec.user}/${spec.device}`);
  const network = new ShapedTransport({ inner, profile: spec.profile, time, random: phoneRandom.fork('network'), device: `${spec.user}/${spec.device}`,
    onOracle: (device, what, _atMs) => recorder.record({ t: time.nowMs() - init.runStartEpochMs, p: 'harness', type: 'oracle', what, device }) });
  const phone = new Phone({
    user: spec.user, device: spec.device, token: spec.token, gatewayUrls: init.gatewayUrls, chats: spec.chats, friends: spec.friends,
    transport: network, time, random: phoneRandom.fork('phone'), history: recorder, metrics, startMs: init.runStartEpochMs,
    options: phoneOptions,
  });
  const behaviour = new PhoneBehaviour(phone, {
    messagesPerMinute: init.load.messagesPerMinute, foregroundShare: init.load.foregroundShare,
    typingShare: init.load.typingShare, bodyBytes: init.load.bodyBytes,
  }, time, phoneRandom.fork('behaviour'));
  phones.push(phone);
  behaviours.push(behaviour);
  networks.push(network);
  startTimers.push(time.schedule(init.runStartEpochMs + spec.startAtMs - time.nowMs(), () => {
    phone.start();
    behaviour.start();
  }));
}

function progress(): WorkerProgress {
  let connected = 0;
  for (const phone of phones) if (phone.state().connected) connected++;
  return { connected, phones: phones.length, ...counts, eventLoopLagMsP99: monitor.lagMsP99(), cpuMs: monitor.cpuMs() };
}

const ticker = time.every(1000, () => {
  history.flush();
  port.postMessage({ type: 'progress', progress: progress() } satisfies WorkerToMain);
});

port.on('message', (message: MainToWorker) => {
  if (message.type === 'heal') {
    // Stop new sends and end every network fault: the quiesce phase lets phones converge.
    // Phones whose start time falls after the load (a ramp longer than --duration) never join:
    // they are not part of this run, and the checkers owe them nothing.
    for (const t of startTimers) t.cancel();
    startTimers.length = 0;
    for (const behaviour of behaviours) behaviour.stop();
    for (const network of networks) network.heal();
    // The final read: once reconnects have had time, every phone syncs (spread out, as apps
    // coming to the foreground would be), so a push lost without a later message is noticed.
    const finalSyncAtMs = Math.max(0, message.quiesceMs / 2);
    phones.forEach((phone, i) => startTimers.push(time.schedule(finalSyncAtMs + (i % 1000), () => phone.syncNow())));
    return;
  }
  void finish();
});

async function finish(): Promise<void> {
  try {
    ticker.cancel();
    for (const t of startTimers) t.cancel();
    const final = progress();
    for (const phone of phones) phone.stop();
    for (const network of networks) {
      // What the links did, for the report: how many faults the profiles actually produced.
      for (const [name, value] of Object.entries(network.stats())) metrics.increment(`network.${name}`, value);
      network.dispose();
    }
    monitor.stop();
    await history.close();
    port.postMessage({ type: 'done', metrics: metrics.encode(), progress: final, historyEvents: history.eventsWritten } satisfies WorkerToMain);
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).stack ?? String(error) } satisfies WorkerToMain);
  }
}
