import type { ClusterControl } from '../../server/ClusterControl.ts';
import type { BackendFaultWindow } from '../../server/faults/BackendFaultWindow.ts';
import type { FaultEquipment } from '../../server/faults/FaultEquipment.ts';
import type { TimeSource } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import { PRESENCE_EVENTS_CHANNEL, gatewayChannel } from '../../server/protocol/envelopes.ts';
import type { ClockJumpSpec, FaultSpec } from '../scenario/Scenario.ts';
import { between, pick, windowMs } from './drawRandom.ts';

/**
 * Port: the server faults a target chatsim did not start can take (target.kind ejabberd).
 * Contract: `restart` stops the server, leaves it stopped downMs, starts it again and resolves
 * once it answers again (clients can connect); it rejects, with why, when it could not.
 */
export interface TargetFaultHooks {
  /** The target as reasons name it: "ejabberd". */
  readonly name: string;
  restart?(downMs: number): Promise<void>;
}

/**
 * What playing a fault may use: the cluster (absent against a target), the target's hooks (absent
 * with the reference cluster), time, the log, the chat servers' wall clocks.
 */
export interface FaultContext {
  cluster: ClusterControl | undefined;
  /** The target's name and server faults; absent when the run plays against the reference cluster. */
  target?: TargetFaultHooks;
  time: TimeSource;
  log: (line: string) => void;
  /** Steps the chat servers' wall clocks (clock-jump); absent where they are not the harness's. */
  chatServerClocks?: { step(fault: ClockJumpSpec): void | Promise<void> };
}

/** The shape of the cluster a drawn fault must fit. */
export interface FaultShape {
  gateways: number;
  chatServers: number;
}

type Raw = Record<string, unknown>;
type SpecOf<K extends FaultSpec['kind']> = Extract<FaultSpec, { kind: K }>;

/**
 * One fault kind: how the engines play it and how the swarm draws it.
 * - `apply` plays the fault on a cluster (both engines) and resolves when it is over: with its
 *   end (ms after the run start) when it lasts (`forMs`), undefined when instant (the caller
 *   takes the time it finished).
 * - `draw` gives the fault of a swarm seed at `atMs`, its window at most `windowMsMax`;
 *   undefined when this shape cannot take it (crashing the only gateway leaves phones nowhere).
 * - `drawnBy`: 'pick' kinds are picked from one list by the swarm's faults feature, in this
 *   registry's order (so a seed draws what it drew before); 'own-fork' kinds, added later, are
 *   drawn from a fork of their own, so adding them moved no earlier seed's scenario.
 * - `needs`: the fault equipment the cluster must be assembled with to play it (the wrappers of
 *   server/faults/FaultEquipment.ts); a run installs those of its faults and no other.
 */
export interface FaultKind<K extends FaultSpec['kind']> {
  /**
   * What the kind requires of the system under test: the reference cluster (ClusterControl), a target that restarts
   * (TargetFaultHooks.restart), or nothing the run may lack (a phone clock-jump; a chat-server
   * one against a target is refused at load).
   */
  requires: 'cluster' | 'target-restart' | 'nothing';
  needs: readonly FaultEquipment[];
  apply(fault: SpecOf<K>, ctx: FaultContext): Promise<number | undefined>;
  draw(r: Random, atMs: number, windowMsMax: number, shape: FaultShape): Raw | undefined;
  drawnBy: 'pick' | 'own-fork';
}

const percent = (share: number): string => `${Math.round(share * 1000) / 10}%`;

function sleepFor(time: TimeSource, ms: number): Promise<void> {
  return new Promise((resolve) => time.schedule(ms, resolve));
}

/** Runs `during` for the fault's window: start, wait forMs, end; resolves with the window's end. */
async function windowed(fault: { atMs: number; forMs: number }, ctx: FaultContext, start: () => Promise<unknown>, end: () => Promise<unknown>): Promise<number> {
  await start();
  await sleepFor(ctx.time, fault.forMs);
  await end();
  return fault.atMs + fault.forMs;
}

/** A window of a backend fault on the port wrappers (ClusterControl.openBackendFault). */
async function backendWindow(fault: { atMs: number; forMs: number }, ctx: FaultContext, cluster: ClusterControl, window: BackendFaultWindow): Promise<number> {
  let end: () => void | Promise<void> = () => undefined;
  return windowed(fault, ctx, async () => { end = await cluster.openBackendFault(window); }, async () => { await end(); });
}

/** The cluster, for kinds that need one (applyFault plays them only with one). */
function clusterOf(ctx: FaultContext): ClusterControl {
  if (!ctx.cluster) throw new Error('this fault needs a cluster started by chatsim');
  return ctx.cluster;
}

/** Every fault kind of the scenario language (FaultSpec), in the swarm's pick order. */
export const FAULT_KINDS: { readonly [K in FaultSpec['kind']]: FaultKind<K> } = {
  'restart-chat-servers': {
    requires: 'cluster',
    needs: [],
    drawnBy: 'pick',
    draw: (r, atMs) => ({ atMs, kind: 'restart-chat-servers', crash: r.nextFloat() < 0.7 }),
    apply: async (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: restarting every chat server (${fault.crash ? 'crash' : 'graceful'})`);
      await cluster.restartChatServers({ crash: fault.crash });
      return undefined;
    },
  },
  'crash-gateway': {
    requires: 'cluster',
    needs: [],
    drawnBy: 'pick',
    draw: (r, atMs, _w, shape) => (shape.gateways > 1 ? { atMs, kind: 'crash-gateway', gateway: between(r, 0, shape.gateways - 1) } : undefined),
    apply: async (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: gateway ${fault.gateway} crashes`);
      await cluster.crashGateway(fault.gateway);
      return undefined;
    },
  },
  'pause-gateway': {
    requires: 'cluster',
    needs: ['pause-gateway'],
    drawnBy: 'pick',
    draw: (r, atMs, w, shape) => ({ atMs, kind: 'pause-gateway', gateway: between(r, 0, shape.gateways - 1), forMs: windowMs(r, w) }),
    apply: (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: gateway ${fault.gateway} paused for ${fault.forMs} ms`);
      return windowed(fault, ctx, async () => cluster.pauseGateway(fault.gateway), async () => cluster.resumeGateway(fault.gateway));
    },
  },
  'partition-gateway': {
    requires: 'cluster',
    needs: [],
    drawnBy: 'pick',
    draw: (r, atMs, w, shape) => ({ atMs, kind: 'partition-gateway', gateway: between(r, 0, shape.gateways - 1), forMs: windowMs(r, w) }),
    apply: (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: gateway ${fault.gateway} partitioned from the backends for ${fault.forMs} ms`);
      return windowed(fault, ctx, () => cluster.partitionGateway(fault.gateway), () => cluster.healGatewayPartition(fault.gateway));
    },
  },
  'pause-chat-server': {
    requires: 'cluster',
    needs: ['pause-chat-server'],
    drawnBy: 'pick',
    draw: (r, atMs, w, shape) => ({ atMs, kind: 'pause-chat-server', chatServer: between(r, 0, shape.chatServers - 1), forMs: windowMs(r, w) }),
    apply: (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: chat server ${fault.chatServer} paused for ${fault.forMs} ms`);
      return windowed(fault, ctx, async () => cluster.pauseChatServer(fault.chatServer), async () => cluster.resumeChatServer(fault.chatServer));
    },
  },
  'kill-chat-server': {
    requires: 'cluster',
    needs: [],
    drawnBy: 'pick',
    draw: (r, atMs, _w, shape) => ({ atMs, kind: 'kill-chat-server', chatServer: between(r, 0, shape.chatServers - 1) }),
    apply: async (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: chat server ${fault.chatServer} killed`);
      await cluster.killChatServer(fault.chatServer);
      return undefined;
    },
  },
  'lose-broker-messages': {
    requires: 'cluster',
    needs: ['broker-loss'],
    drawnBy: 'pick',
    draw: (r, atMs, w) => ({ atMs, kind: 'lose-broker-messages', share: pick(r, [0.1, 0.3, 0.7, 1]), forMs: windowMs(r, w) }),
    apply: async (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: the broker loses ${percent(fault.share)} of payloads for ${fault.forMs} ms`);
      const before = await cluster.brokerLossStats();
      let endLoss: () => void | Promise<void> = () => undefined;
      const endMs = await windowed(fault, ctx, async () => { endLoss = await cluster.loseBrokerMessages(fault.share); }, async () => { await endLoss(); });
      const after = await cluster.brokerLossStats();
      const dropped = after.dropped - before.dropped;
      ctx.log(`fault over: the broker dropped ${dropped} of ${dropped + after.passedDuringLoss - before.passedDuringLoss} payloads`);
      return endMs;
    },
  },
  // Backend faults (scenarios/schema.json backendFault), each window within the load.
  'store-outage': {
    requires: 'cluster',
    needs: ['store-faults'],
    drawnBy: 'pick',
    draw: (r, atMs, w) => ({ atMs, kind: 'store-outage', forMs: Math.min(windowMs(r, w), 5000) }),
    apply: (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: the message store is down for ${fault.forMs} ms`);
      return backendWindow(fault, ctx, cluster, { kind: 'store-outage' });
    },
  },
  'slow-store': {
    requires: 'cluster',
    needs: ['store-faults'],
    drawnBy: 'pick',
    draw: (r, atMs, w) => ({ atMs, kind: 'slow-store', latencyMs: pick(r, [50, 500, 3000]), forMs: Math.min(windowMs(r, w), 6000) }),
    apply: async (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: every message store call takes ${fault.latencyMs} ms longer for ${fault.forMs} ms`);
      await backendWindow(fault, ctx, cluster, { kind: 'slow-store', latencyMs: fault.latencyMs });
      // A call that started just before the window closed is still held for latencyMs: the
      // fault is over when the last delayed call has run.
      await sleepFor(ctx.time, fault.latencyMs);
      return fault.atMs + fault.forMs + fault.latencyMs;
    },
  },
  'kill-gateway': {
    requires: 'cluster',
    needs: [],
    drawnBy: 'pick',
    draw: (r, atMs, w, shape) => ({ atMs, kind: 'kill-gateway', gateway: between(r, 0, shape.gateways - 1), forMs: Math.min(windowMs(r, w), 5000) }),
    apply: (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: gateway ${fault.gateway} killed, back on its port in ${fault.forMs} ms`);
      return windowed(fault, ctx, () => cluster.crashGateway(fault.gateway), () => cluster.reviveGateway(fault.gateway));
    },
  },
  // Always back in the swarm: a drain for good next to a crash-gateway of the other gateway leaves phones nowhere to go.
  'drain-gateway': {
    requires: 'cluster',
    needs: [],
    drawnBy: 'pick',
    draw: (r, atMs, w, shape) => ({ atMs, kind: 'drain-gateway', gateway: between(r, 0, shape.gateways - 1), forMs: Math.min(windowMs(r, w), 5000) }),
    apply: async (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: gateway ${fault.gateway} drains${fault.forMs === undefined ? ' for good' : `, back in ${fault.forMs} ms`}`);
      if (fault.forMs === undefined) {
        await cluster.drainGateway(fault.gateway);
        return undefined;
      }
      return windowed({ atMs: fault.atMs, forMs: fault.forMs }, ctx, () => cluster.drainGateway(fault.gateway), () => cluster.reviveGateway(fault.gateway));
    },
  },
  'duplicate-broker-messages': {
    requires: 'cluster',
    needs: ['broker-disorder'],
    drawnBy: 'pick',
    draw: (r, atMs, w) => ({ atMs, kind: 'duplicate-broker-messages', share: pick(r, [0.1, 0.5, 1]), forMs: windowMs(r, w) }),
    apply: (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: the broker delivers ${percent(fault.share)} of payloads twice for ${fault.forMs} ms`);
      return backendWindow(fault, ctx, cluster, { kind: 'duplicate-broker-messages', share: fault.share });
    },
  },
  'reorder-broker-messages': {
    requires: 'cluster',
    needs: ['broker-disorder'],
    drawnBy: 'pick',
    draw: (r, atMs, w) => ({ atMs, kind: 'reorder-broker-messages', share: pick(r, [0.1, 0.3, 0.6]), forMs: windowMs(r, w) }),
    apply: (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: the broker reorders ${percent(fault.share)} of payloads for ${fault.forMs} ms`);
      return backendWindow(fault, ctx, cluster, { kind: 'reorder-broker-messages', share: fault.share });
    },
  },
  'lose-broker-channel': {
    requires: 'cluster',
    needs: ['broker-loss'],
    drawnBy: 'pick',
    draw: (r, atMs, w, shape) => (r.nextFloat() < 0.5
      ? { atMs, kind: 'lose-broker-channel', channel: 'presence', share: pick(r, [0.2, 0.5, 1]), forMs: windowMs(r, w) }
      : { atMs, kind: 'lose-broker-channel', channel: 'gateway', gateway: between(r, 0, shape.gateways - 1), share: pick(r, [0.2, 0.5, 1]), forMs: windowMs(r, w) }),
    apply: (fault, ctx) => {
      const channel = fault.channel === 'presence' ? PRESENCE_EVENTS_CHANNEL : gatewayChannel(`gw${(fault.gateway ?? 0) + 1}`);
      const cluster = clusterOf(ctx);
      ctx.log(`fault: the broker loses ${percent(fault.share)} of payloads on ${channel} for ${fault.forMs} ms`);
      return backendWindow(fault, ctx, cluster, { kind: 'lose-broker-channel', channel, share: fault.share });
    },
  },
  // Wall clocks stepping (both ways, up to an hour) on phones or chat servers; instant, no window.
  'clock-jump': {
    requires: 'nothing',
    needs: [],
    drawnBy: 'pick',
    draw: (r, atMs, _w, shape) => {
      const byMs = pick(r, [-3_600_000, -600_000, -30_000, -5_000, 5_000, 30_000, 600_000, 3_600_000]);
      if (r.nextFloat() < 0.5) return { atMs, kind: 'clock-jump', target: 'phones', byMs, share: pick(r, [0.3, 0.5, 1]) };
      return r.nextFloat() < 0.5 ? { atMs, kind: 'clock-jump', target: 'chat-servers', byMs } : { atMs, kind: 'clock-jump', target: 'chat-servers', byMs, chatServer: between(r, 0, shape.chatServers - 1) };
    },
    apply: applyClockJump,
  },
  // Drawn since the presence store has an epoch (PresenceStore.epoch): the presence service now
  // tells that the store lost what it announced from. Calls fail for up to 5 s.
  'restart-presence-store': {
    requires: 'cluster',
    needs: ['presence-restart'],
    drawnBy: 'own-fork',
    draw: (r, atMs, w) => ({ atMs, kind: 'restart-presence-store', forMs: Math.min(windowMs(r, w), 5000) }),
    apply: (fault, ctx) => {
      const cluster = clusterOf(ctx);
      ctx.log(`fault: the presence store restarts empty, down for ${fault.forMs} ms`);
      let end: () => void | Promise<void> = () => undefined;
      return windowed(fault, ctx, async () => { end = await cluster.restartPresenceStore(); }, async () => { await end(); });
    },
  },
  // A target's restart (target.kind ejabberd: scripts/ejabberd.sh restart); never drawn: the
  // swarm plays the reference cluster, which has finer faults of its own.
  'restart-target': {
    requires: 'target-restart',
    needs: [],
    drawnBy: 'own-fork',
    draw: () => undefined,
    apply: async (fault, ctx) => {
      const restart = ctx.target?.restart;
      if (!restart) throw new Error('no target that restarts');
      ctx.log(`fault: ${ctx.target!.name} restarts${fault.forMs > 0 ? `, down for ${fault.forMs} ms` : ''}`);
      const startedMs = ctx.time.nowMs();
      await restart.call(ctx.target, fault.forMs);
      ctx.log(`fault over: ${ctx.target!.name} answers again, ${ctx.time.nowMs() - startedMs} ms after the restart began`);
      return undefined; // the window ends when it answers again
    },
  },
};

/** Phones step their own clocks on the schedule they were given (assignPhones); chat servers here. */
async function applyClockJump(fault: ClockJumpSpec, ctx: FaultContext): Promise<undefined> {
  const by = `${fault.byMs > 0 ? '+' : ''}${fault.byMs} ms`;
  if (fault.target === 'phones') ctx.log(`fault: the wall clock of ${fault.share === undefined || fault.share >= 1 ? 'every phone' : `${Math.round(fault.share * 100)}% of phones`} jumps ${by}`);
  else if (ctx.chatServerClocks && ctx.cluster) {
    await ctx.chatServerClocks.step(fault);
    ctx.log(`fault: the wall clock of ${fault.chatServer === undefined ? 'every chat server' : `chat server ${fault.chatServer}`} jumps ${by}`);
  } else ctx.log(`fault clock-jump skipped: the chat servers' clocks are not the harness's here`);
  return undefined;
}

/**
 * Why the run's cluster or target cannot take `fault` (its kind's `requires`), or undefined when it
 * can: "ejabberd: partition-gateway needs the reference cluster". The run does not play such a
 * fault, records no window for it and lists it in the summary (faultsNotTaken).
 */
export function faultNotTakenReason(fault: FaultSpec, ctx: Pick<FaultContext, 'cluster' | 'target'>): string | undefined {
  const needs = FAULT_KINDS[fault.kind].requires;
  const where = ctx.cluster ? 'the reference cluster' : ctx.target?.name ?? 'the target';
  if (needs === 'cluster' && !ctx.cluster) return `${where}: ${fault.kind} needs the reference cluster (a target chatsim did not start has no such part to fault)`;
  if (needs === 'target-restart' && !ctx.target?.restart) {
    return ctx.cluster
      ? `${where}: restart-target is for a target chatsim did not start (target.kind ejabberd); the cluster's own are restart-chat-servers, kill-gateway, restart-presence-store`
      : `${where}: restart-target needs a target chatsim can restart (target.kind ejabberd)`;
  }
  return undefined;
}

/**
 * Plays one fault with its kind's `apply` (see FaultKind). A fault the cluster or target cannot
 * take (faultNotTakenReason) is not played: a line in the log says why (the run skeleton lists
 * it in the summary and schedules only what can be taken).
 */
export function applyFault(fault: FaultSpec, ctx: FaultContext): Promise<number | undefined> {
  const reason = faultNotTakenReason(fault, ctx);
  if (reason !== undefined) {
    ctx.log(`fault ${fault.kind} not taken: ${reason}`);
    return Promise.resolve(undefined);
  }
  return (FAULT_KINDS[fault.kind] as FaultKind<FaultSpec['kind']>).apply(fault, ctx);
}

/** The kinds the swarm picks from one list, in pick order. */
export const PICKED_FAULT_KINDS: ReadonlyArray<FaultKind<FaultSpec['kind']> & { kind: FaultSpec['kind'] }> = Object.entries(FAULT_KINDS)
  .filter(([, k]) => k.drawnBy === 'pick')
  .map(([kind, k]) => ({ ...(k as FaultKind<FaultSpec['kind']>), kind: kind as FaultSpec['kind'] }));

/** The fault equipment a cluster needs for these faults (each kind's `needs`): what the engines assemble it with. */
export function faultEquipmentFor(faults: readonly FaultSpec[]): Set<FaultEquipment> {
  const needs = new Set<FaultEquipment>();
  for (const fault of faults) for (const need of FAULT_KINDS[fault.kind].needs) needs.add(need);
  return needs;
}
