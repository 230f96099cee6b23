// The frame fuzz campaign against one running cluster: `connections` WebSockets send generated
// frames (fuzz/frameArbitraries.ts) at a steady pace just under the rate limit, a raw-socket
// worker commits WebSocket framing violations on connections of its own, a flooder trips the
// rate limit now and then, a bystander pair talks the whole time, and a worker thread polls
// health. Every frame and close code anyone receives is held to docs/protocol.md.
import fc from 'fast-check';
import WebSocket from 'ws';
import { Bystander, type BystanderReport } from './Bystander.ts';
import { ConformanceAudit, type Audience, type Finding } from './ConformanceAudit.ts';
import { frameArbitrary, storableFrames, type FrameContext, type FuzzFrame } from './frameArbitraries.ts';
import { HealthWatch, type HealthReport } from './HealthWatch.ts';
import { documentedProtocol } from './protocolDoc.ts';
import { FRAMING_VIOLATIONS, RawWebSocket, type FramingViolation, type RawOutcome } from './rawWebSocket.ts';
import { setUpPopulation, type FuzzUser } from './setupUsers.ts';
import { sleep, type FuzzTarget } from './targets.ts';

export interface FrameFuzzOptions {
  /** Generated frames to send in all (WebSocket messages plus framing violations). */
  frames: number;
  connections: number;
  seed: number;
  /** Pace of each fuzz connection at most (default 36, with the markers 45: under framesPerSecondMax, 50). */
  framesPerSecondPerConnection?: number;
  /** Slow health polls in a row that make a hang (each poll waits healthDeadlineMs). */
  hangAfterSlowPolls?: number;
  healthDeadlineMs?: number;
  /** Allowed heap growth after a forced GC, from after the setup to the end, in bytes. */
  heapGrowthMaxBytes?: number;
  /** The frames to send (default frameArbitrary: every kind). */
  arbitrary?: (ctx: FrameContext) => fc.Arbitrary<FuzzFrame>;
  /** How long the bystanders may take to get their last messages through at the end, in ms (default 15,000). */
  bystanderDrainMs?: number;
  /** Prefix of the users' ids (several runs on one cluster). */
  userPrefix?: string;
  log?: (line: string) => void;
}

export interface HeapFigures {
  /** After the setup and the prefill, before any fuzz frame. */
  setupBytes: number;
  warmUpFrames: number;
  /** After the warm-up frames: what growth is measured from. */
  baselineBytes: number;
  samples: Array<{ frames: number; bytes: number }>;
  finalBytes: number;
  growthBytes: number;
  boundBytes: number;
}

export interface FrameFuzzReport {
  target: string;
  seed: number;
  durationMs: number;
  frames: { sent: number; byKind: Record<string, number>; framingViolations: number; floodFrames: number; prefill: number };
  connections: { fuzz: number; opened: number; raw: number; flood: number };
  replies: { frames: number; byType: Record<string, number>; errorsByCode: Record<string, number>; closesByCode: Record<string, number> };
  health: HealthReport;
  bystander: BystanderReport;
  heap?: HeapFigures;
  findings: Finding[];
  /** Why the run stopped early (a crash or a hang), if it did. */
  aborted?: string;
  passed: boolean;
}

/** How long a connection waits for its marker's answer before it sends on (a refused or lost marker). */
const MARKER_WAIT_MS = 5000;

/** Default bound of "flat": 8 MiB, against baselines of 20-40 MiB (see docs/fuzz.md for the measurements). */
export const HEAP_GROWTH_MAX_BYTES = 8 * 1024 * 1024;

export async function runFrameFuzz(target: FuzzTarget, options: FrameFuzzOptions): Promise<FrameFuzzReport> {
  const log = options.log ?? (() => undefined);
  const audit = new ConformanceAudit(documentedProtocol());
  const started = Date.now();
  const population = await setUpPopulation(target, options.connections, options.userPrefix);
  const health = new HealthWatch(target.httpUrl, { deadlineMs: options.healthDeadlineMs ?? 1000 });
  const gw = target.gatewayUrls;
  const bystander = await Bystander.start({
    chat: population.bystanderChat, users: [population.bystanders[0].id, population.bystanders[1].id],
    tokens: [population.bystanders[0].token, population.bystanders[1].token], urls: [gw[0]!, gw[gw.length - 1]!], audit,
  });
  const counters = { sent: 0, byKind: {} as Record<string, number>, opened: 0, framingViolations: 0, floodFrames: 0, rawConnections: 0, floodConnections: 0, prefill: 0 };
  const state = { stop: false, aborted: undefined as string | undefined };
  const hangAfter = options.hangAfterSlowPolls ?? 3;
  const watchdog = setInterval(() => {
    const deaths = target.deaths();
    if (deaths.length > 0) abort(`crash: ${deaths[0]}`);
    else if (health.report.slowStreakMax >= hangAfter) abort(`hang: ${health.report.slowStreakMax} health polls in a row unanswered within ${options.healthDeadlineMs ?? 1000} ms (${health.report.slowSamples.join('; ')})`);
  }, 200);
  function abort(why: string): void {
    if (state.aborted) return;
    state.aborted = why;
    state.stop = true;
    log(`  aborting: ${why}`);
  }

  const conns = population.fuzz.map((user, i) => new FuzzConnection(i, gw[i % gw.length]!, user, population.bystanderChat, target, options, audit, counters, state));
  let heap: HeapFigures | undefined;
  try {
    await Promise.all(conns.map((c) => c.open()));
    counters.prefill = (await Promise.all(conns.map((c) => c.prefill()))).reduce((a, b) => a + b, 0);
    log(`  ${conns.length} connections open, ${counters.prefill} storable messages sent once`);
    await sleep(500);
    const measureHeap = (): Promise<number> => health.exempt(() => target.heapUsedAfterGc!());
    const setupBytes = target.heapUsedAfterGc ? await measureHeap() : undefined;
    // The baseline is taken after a warm-up share of the frames: what the first frames of each
    // kind leave for good (compiled code, inline caches, hash tables grown once) is not growth.
    const warmUp = Math.min(5000, Math.floor(options.frames / 10));
    let baseline: Promise<number> | undefined;
    const samples: Array<{ frames: number; bytes: number }> = [];
    let nextSample = options.frames / 4;
    const progress = setInterval(() => {
      if (!target.heapUsedAfterGc || state.stop) return;
      if (!baseline && counters.sent >= warmUp) {
        baseline = measureHeap();
        void baseline.then((bytes) => log(`  ${counters.sent} frames (warm-up done), heap after GC ${mib(bytes)}`), () => undefined);
      }
      if (counters.sent < nextSample) return;
      nextSample += options.frames / 4;
      const at = counters.sent;
      void measureHeap().then((bytes) => { samples.push({ frames: at, bytes }); log(`  ${at} frames, heap after GC ${mib(bytes)}`); }, () => undefined);
    }, 200);
    const done = (): boolean => state.stop || counters.sent >= options.frames;
    await Promise.all([
      ...conns.map((c) => c.drive(done)),
      rawWorker(target, population.raw, options.seed, audit, counters, done),
      floodWorker(target, population.flood, audit, counters, done),
      binaryProbe(target, population.raw, audit),
    ]);
    clearInterval(progress);
    if (!state.stop) await binaryProbe(target, population.raw, audit);
    if (baseline !== undefined && setupBytes !== undefined && !state.aborted) {
      await sleep(2000); // frames still queued are processed; presence writes settle
      const finalBytes = await measureHeap();
      const baselineBytes = await baseline;
      const boundBytes = options.heapGrowthMaxBytes ?? HEAP_GROWTH_MAX_BYTES;
      heap = { setupBytes, warmUpFrames: warmUp, baselineBytes, samples, finalBytes, growthBytes: finalBytes - baselineBytes, boundBytes };
      if (heap.growthBytes > boundBytes) audit.flag('heap-growth', `heap after GC grew ${mib(heap.growthBytes)} (${mib(baselineBytes)} -> ${mib(finalBytes)}), bound ${mib(boundBytes)}`);
    }
  } finally {
    state.stop = true;
    clearInterval(watchdog);
    for (const c of conns) c.close();
  }
  const bystanderReport = await bystander.stop(state.aborted ? 2000 : options.bystanderDrainMs ?? 15_000);
  if (bystanderReport.lostCount > 0 || bystanderReport.closed.length > 0) {
    audit.flag('bystander-loss', `${bystanderReport.lostCount} of ${bystanderReport.sent} messages lost (${bystanderReport.lost.slice(0, 3).join(', ')}), connections closed: ${bystanderReport.closed.join(', ') || 'none'}`);
  }
  const healthReport = await health.stop();
  const deaths = target.deaths();
  for (const d of deaths) audit.flag('crash', d);
  if (healthReport.slowStreakMax >= hangAfter) audit.flag('hang', `${healthReport.slowStreakMax} health polls in a row unanswered: ${healthReport.slowSamples.join('; ')}`);
  const findings = audit.list();
  return {
    target: target.name, seed: options.seed, durationMs: Date.now() - started,
    frames: { sent: counters.sent, byKind: counters.byKind, framingViolations: counters.framingViolations, floodFrames: counters.floodFrames, prefill: counters.prefill },
    connections: { fuzz: conns.length, opened: counters.opened, raw: counters.rawConnections, flood: counters.floodConnections },
    replies: {
      frames: [...audit.framesByType.values()].reduce((a, b) => a + b, 0), byType: Object.fromEntries(audit.framesByType),
      errorsByCode: Object.fromEntries(audit.errorsByCode), closesByCode: Object.fromEntries([...audit.closesByCode].map(([k, v]) => [String(k), v])),
    },
    health: healthReport, bystander: bystanderReport, ...(heap ? { heap } : {}), findings,
    ...(state.aborted ? { aborted: state.aborted } : {}),
    passed: findings.length === 0 && !state.aborted,
  };
}

type Counters = { sent: number; byKind: Record<string, number>; opened: number; framingViolations: number; floodFrames: number; rawConnections: number; floodConnections: number };

/** One fuzz user's WebSocket: sends generated frames at its pace, audits what comes back, reconnects when closed. */
class FuzzConnection {
  private ws: WebSocket | undefined;
  private readonly ctx: FrameContext;
  private readonly audience: Audience;
  private readonly arbitrary: fc.Arbitrary<FuzzFrame>;
  private batch: FuzzFrame[] = [];
  private batchNo = 0;
  private lastKind = 'nothing';
  private markers = 0;
  private awaiting = '';
  private markerSeen = false;
  private markerRefused = false;
  /** `sent` and `error` frames received: the answers the prefill waits for. */
  private answers = 0;

  constructor(
    private readonly index: number, private readonly url: string, private readonly user: FuzzUser, foreignChat: string,
    target: FuzzTarget, private readonly options: FrameFuzzOptions, private readonly audit: ConformanceAudit,
    private readonly counters: Counters, private readonly state: { stop: boolean },
  ) {
    this.ctx = { self: user.id, chats: user.chats, users: [...user.friends, 'nobody', foreignChat], foreignChat, frameBytesMax: target.limits.frameBytesMax, frameBytesHardMax: target.limits.frameBytesHardMax };
    this.audience = { chats: new Set(user.chats), friends: new Set(user.friends) };
    this.arbitrary = (options.arbitrary ?? frameArbitrary)(this.ctx);
  }

  async open(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.ws = await this.connect();
        return;
      } catch (error) {
        if (this.state.stop || attempt >= 20) throw error;
        await sleep(100 * (attempt + 1));
      }
    }
  }

  /** Sends each frame that can store a message once, and waits for the answers. */
  async prefill(): Promise<number> {
    const frames = storableFrames(this.ctx);
    const before = this.answers;
    for (const text of frames) {
      this.ws!.send(text);
      await sleep(25); // 40 a second: under the rate limit
    }
    const deadline = Date.now() + 30_000;
    while (this.answers - before < frames.length && Date.now() < deadline) await sleep(50);
    return frames.length;
  }

  async drive(done: () => boolean): Promise<void> {
    // With the marker after each batch, 4 frames + 1 every 110 ms: 45 a second, under framesPerSecondMax (50).
    const perSecond = this.options.framesPerSecondPerConnection ?? 36;
    const tickMs = 110;
    const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
    while (!done()) {
      const tickStart = Date.now();
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        await this.open().catch(() => undefined);
        continue;
      }
      for (let i = 0; i < perTick && !done() && this.ws.readyState === WebSocket.OPEN; i++) this.sendOne(this.next());
      await this.marker();
      await sleep(Math.max(0, tickMs - (Date.now() - tickStart)));
    }
  }

  /**
   * Closes the loop: a presence_query with a unique id after each batch, answered in order after
   * the batch (a connection's frames are processed one at a time), so the fuzzer never runs ahead
   * of a server slowed by a busy machine and a slow health answer means the server, not a backlog.
   */
  private async marker(): Promise<void> {
    const id = `marker-${++this.markers}`;
    this.awaiting = id;
    this.markerSeen = false;
    this.markerRefused = false;
    this.ws!.send(`{"type":"presence_query","id":"${id}","users":[]}`);
    const deadline = Date.now() + MARKER_WAIT_MS;
    while (!this.markerSeen && Date.now() < deadline && this.ws?.readyState === WebSocket.OPEN && !this.state.stop) await sleep(5);
    // The marker itself refused (TOO_MANY_PENDING, RATE_LIMITED): the server is behind; let it catch up.
    if (this.markerRefused) await sleep(500);
  }

  close(): void {
    this.ws?.close();
  }

  private next(): FuzzFrame {
    if (this.batch.length === 0) this.batch = fc.sample(this.arbitrary, { seed: this.options.seed + this.index * 1_000_003 + this.batchNo++ * 7919, numRuns: 250 }).reverse();
    return this.batch.pop()!;
  }

  private sendOne(f: FuzzFrame): void {
    this.lastKind = `${f.kind} frame ${JSON.stringify(String(f.payload).slice(0, 80))}`;
    this.counters.sent++;
    this.counters.byKind[f.kind] = (this.counters.byKind[f.kind] ?? 0) + 1;
    this.ws!.send(f.payload, { binary: f.binary });
  }

  private connect(): Promise<WebSocket> {
    const ws = new WebSocket(`${this.url}/?token=${encodeURIComponent(this.user.token)}`, 'chatsim.v1', { maxPayload: 64 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { ws.terminate(); reject(new Error('no hello within 10 s')); }, 10_000);
      ws.once('error', (error) => { clearTimeout(timer); reject(error); });
      ws.on('message', (data, binary) => {
        const text = binary ? '' : String(data);
        if (text.startsWith('{"type":"sent"') || text.startsWith('{"type":"error"')) this.answers++;
        if (this.awaiting && text.includes(`"ref":"${this.awaiting}"`)) {
          this.markerSeen = true;
          this.markerRefused = text.startsWith('{"type":"error"');
        }
        this.audit.serverFrame(binary ? Buffer.from(data as Buffer) : String(data), binary, this.audience);
        if (text.startsWith('{"type":"hello"')) {
          clearTimeout(timer);
          this.counters.opened++;
          resolve(ws);
        }
      });
      ws.on('error', () => undefined);
      ws.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`closed ${code} before hello`));
        if (!this.state.stop) this.audit.close(code, this.lastKind);
      });
    });
  }
}

/** One framing violation after another, each on a fresh raw connection, until the campaign is done. */
async function rawWorker(target: FuzzTarget, user: FuzzUser, seed: number, audit: ConformanceAudit, counters: Counters, done: () => boolean): Promise<void> {
  const audience: Audience = { chats: new Set(user.chats), friends: new Set(user.friends) };
  for (let n = seed; !done(); n++) {
    const violation = FRAMING_VIOLATIONS[n % FRAMING_VIOLATIONS.length]!;
    const url = target.gatewayUrls[n % target.gatewayUrls.length]!;
    let raw: RawWebSocket;
    try {
      raw = await RawWebSocket.connect(url, user.token);
    } catch {
      await sleep(200); // the gateway refused or is gone: the watchdog tells which
      continue;
    }
    counters.rawConnections++;
    for (const chunk of violation.chunks(target.limits.frameBytesHardMax)) raw.write(chunk);
    counters.framingViolations++;
    counters.sent++;
    counters.byKind['framing-violation'] = (counters.byKind['framing-violation'] ?? 0) + 1;
    const outcome = await raw.outcome(violation.mustClose ? 3000 : 300);
    for (const f of outcome.frames) {
      if (f.opcode === 1) audit.serverFrame(f.payload.toString('utf8'), false, audience);
      else if (f.opcode === 2) audit.serverFrame(f.payload, true);
    }
    judgeViolation(violation, outcome, audit);
    await sleep(10);
  }
}

/** A violation the RFC makes fatal must end the connection, with a documented code or none (1006). */
export function judgeViolation(violation: FramingViolation, outcome: RawOutcome, audit: ConformanceAudit): void {
  if (outcome.closeCode !== undefined) audit.close(outcome.closeCode, `framing violation: ${violation.name}`);
  else if (outcome.ended) audit.close(1006, `framing violation: ${violation.name}`);
  if (violation.mustClose && outcome.stillOpen) audit.flag('violation-accepted', violation.name);
}

/** Every few seconds a connection sends 400 pings at once: RATE_LIMITED, then the 4429 close. */
async function floodWorker(target: FuzzTarget, user: FuzzUser, audit: ConformanceAudit, counters: Counters, done: () => boolean): Promise<void> {
  const audience: Audience = { chats: new Set(user.chats), friends: new Set(user.friends) };
  while (!done()) {
    await sleep(5000);
    if (done()) return;
    const ws = new WebSocket(`${target.gatewayUrls[0]}/?token=${encodeURIComponent(user.token)}`, 'chatsim.v1');
    ws.on('error', () => undefined);
    // A hung gateway accepts the TCP connection and never answers the upgrade: give up after 10 s.
    const opened = await Promise.race([
      new Promise<boolean>((resolve) => { ws.once('open', () => resolve(true)); ws.once('error', () => resolve(false)); ws.once('close', () => resolve(false)); }),
      sleep(10_000).then(() => false),
    ]);
    if (!opened) {
      ws.terminate();
      continue;
    }
    counters.floodConnections++;
    const closed = new Promise<void>((resolve) => ws.once('close', (code) => { audit.close(code, 'flood'); resolve(); }));
    ws.on('message', (data, binary) => audit.serverFrame(binary ? Buffer.from(data as Buffer) : String(data), binary, audience));
    const floodFrames = target.limits.framesBurstMax + target.limits.rateLimitDropsBeforeCloseMax + 100;
    for (let i = 0; i < floodFrames; i++) ws.send('{"type":"ping"}');
    counters.floodFrames += floodFrames;
    await Promise.race([closed, sleep(3000)]);
    ws.terminate();
  }
}

/**
 * Binary frames are not part of v1 (docs/protocol.md section 1): a binary copy of a valid frame
 * must not be served. Sends a binary ping and a binary sync; a `pong` or `sync_result` is a finding.
 */
export async function binaryProbe(target: Pick<FuzzTarget, 'gatewayUrls'>, user: FuzzUser, audit: ConformanceAudit): Promise<void> {
  const ws = new WebSocket(`${target.gatewayUrls[0]}/?token=${encodeURIComponent(user.token)}`, 'chatsim.v1');
  ws.on('error', () => undefined);
  const frames: string[] = [];
  let closeCode: number | undefined;
  const hello = new Promise<boolean>((resolve) => {
    ws.on('message', (data, binary) => {
      const text = String(data);
      frames.push(text);
      audit.serverFrame(binary ? Buffer.from(data as Buffer) : text, binary);
      if (text.startsWith('{"type":"hello"')) resolve(true);
    });
    ws.once('close', (code) => { closeCode = code; resolve(false); });
  });
  if (!(await Promise.race([hello, sleep(10_000).then(() => false)]))) {
    ws.terminate();
    return;
  }
  ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
  ws.send(Buffer.from('{"type":"sync","id":"binary-probe","chats":{}}'), { binary: true });
  await sleep(1500);
  if (closeCode !== undefined) audit.close(closeCode, 'binary probe');
  const served = frames.filter((f) => f.startsWith('{"type":"pong"') || f.includes('"ref":"binary-probe"') && f.startsWith('{"type":"sync_result"'));
  if (served.length > 0) audit.flag('binary-accepted', `a binary frame was answered as a text frame would be: ${served.map((f) => f.slice(0, 60)).join(' ')}`);
  ws.close();
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
