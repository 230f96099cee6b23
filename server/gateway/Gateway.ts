import type { Broker, Subscription } from '../ports/Broker.ts';
import type { TimeSource, TimerHandle } from '../ports/Clock.ts';
import type { InboundQueue } from '../ports/InboundQueue.ts';
import { NO_METRICS, type Metrics } from '../ports/Metrics.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import { frameTypeLabel, gatewayInstruments, type GatewayInstruments } from '../metrics/instruments.ts';
import { helloLimits, type ServerLimits } from '../protocol/limits.ts';
import { gatewayChannel, type GatewayDelivery, type InboundEnvelope } from '../protocol/envelopes.ts';
import { CLOSE_CODES, ERROR_CODES, type ErrorCode } from '../protocol/errorCodes.ts';
import { PING_TEXT, PONG_TEXT, PROTOCOL_VERSION, type HelloFrame, type ResyncFrame } from '../protocol/frames.ts';
import { parseJsonBounded } from '../protocol/boundedJson.ts';
import type { ServerConnection } from './ServerConnection.ts';
import { closeCodeLabel, deviceKey, newGatewayClient, takeRateToken, type GatewayClient } from './GatewayClient.ts';
import { PresenceGapWatch } from './PresenceGapWatch.ts';
import { PresencePushOrder } from './PresencePushOrder.ts';
import { PresenceRoutes, presenceRefreshEveryMs } from './PresenceRoutes.ts';

/** How long a drain (a graceful stop) waits for phones to finish the closing handshakes before the port closes, in ms. */
export const GATEWAY_DRAIN_WAIT_MS = 2_000;

export interface GatewayDeps {
  id: string;
  time: TimeSource;
  broker: Broker;
  queue: InboundQueue;
  presence: PresenceStore;
  limits: ServerLimits;
  /**
   * Names this life of the gateway when it comes back under the same id after a crash or a
   * drain (`r1`, `r2`, ...): connection ids then read `gw1.r1.5`, so they never repeat across
   * lives. Presence entries of the old life outlive it until their TTL, and a chat server
   * pushing to one must not reach whoever holds the same id now. Absent on the first life.
   */
  bootId?: string;
  /** Where the gateway counts connections, frames, closes and refusals (docs/metrics.md); default none. */
  metrics?: Metrics;
}

export interface GatewayStats {
  connections: number;
  framesIn: number;
  framesOut: number;
  deliveriesIn: number;
  /** Connections this gateway closed, by close code. */
  closesByCode: Map<number, number>;
}

/**
 * The stateful edge: holds client connections, checks only size and rate of their frames,
 * forwards them unparsed to the inbound queue, and writes what its one broker channel
 * carries to the targeted local connections. It never reads a frame's meaning, except the
 * fixed ping text it answers itself.
 */
export class Gateway {
  readonly stats: GatewayStats = { connections: 0, framesIn: 0, framesOut: 0, deliveriesIn: 0, closesByCode: new Map() };
  private readonly clients = new Map<string, GatewayClient>();
  /** The newest connection of each user and device on this gateway (see deviceKey). */
  private readonly byDevice = new Map<string, GatewayClient>();
  private subscription: Subscription | undefined;
  private sweepTimer: TimerHandle | undefined;
  private nextConnection = 0;
  private partitioned = false;
  /** Set by stop and crash: a link handed over afterwards is turned away. */
  private stopped = false;
  /** Prefix of this life's connection ids. */
  private readonly connectionPrefix: string;
  /** The numbers of the presence service's pushes on our channel (a gap: a push was lost). */
  private readonly presenceGaps: PresenceGapWatch;
  private readonly metrics: GatewayInstruments;
  /** Drops a presence push older than one already written about its user (broker reorder). */
  private readonly presenceOrder = new PresencePushOrder();
  /** The presence entries that route pushes to our connections. */
  private readonly routes: PresenceRoutes;
  private readonly labels: { gateway: string };

  constructor(private readonly deps: GatewayDeps) {
    this.metrics = gatewayInstruments(deps.metrics ?? NO_METRICS);
    this.presenceGaps = new PresenceGapWatch(deps.time, deps.limits.heartbeatSweepIntervalMs, () => {
      const resync = JSON.stringify({ type: 'resync', reason: 'presence-gap' } satisfies ResyncFrame);
      for (const client of this.clients.values()) if (!client.closing) this.write(client, resync);
    });
    this.routes = new PresenceRoutes({
      id: deps.id, time: deps.time, broker: deps.broker, presence: deps.presence, limits: deps.limits,
      partitioned: () => this.partitioned, holds: (client) => this.clients.get(client.id) === client, write: (client, text) => this.write(client, text),
    });
    this.labels = { gateway: deps.id };
    this.connectionPrefix = deps.bootId === undefined ? deps.id : `${deps.id}.${deps.bootId}`;
  }

  get id(): string {
    return this.deps.id;
  }

  async start(): Promise<void> {
    this.metrics.connections.set(this.labels, 0);
    this.subscription = await this.deps.broker.subscribe(gatewayChannel(this.deps.id), (payload) => this.onDelivery(payload));
    this.sweepTimer = this.deps.time.every(this.deps.limits.heartbeatSweepIntervalMs, () => this.sweepIdle());
  }

  /** Takes over an authenticated link. Returns the connection id, or undefined when the gateway has stopped (the link is closed with 1001). */
  accept(link: ServerConnection, identity: { user: string; device: string }): string | undefined {
    if (this.stopped) {
      // A stopping gateway (a drain) takes no new links: reconnect elsewhere.
      link.close(CLOSE_CODES.GOING_AWAY.code, 'gateway shutting down');
      return undefined;
    }
    const nowMs = this.deps.time.nowMs();
    const client = newGatewayClient(`${this.connectionPrefix}.${++this.nextConnection}`, identity, link, nowMs, this.deps.limits);
    // One connection per device: an older one of the same device here is replaced (4409);
    // one on another gateway is found through the presence store once this one is routed.
    const older = this.byDevice.get(deviceKey(client));
    if (older) this.closeClient(older, CLOSE_CODES.REPLACED.code, 'replaced by a newer connection of this device');
    this.byDevice.set(deviceKey(client), client);
    this.clients.set(client.id, client);
    this.stats.connections = this.clients.size;
    this.metrics.accepted.inc(this.labels);
    this.metrics.connections.set(this.labels, this.clients.size);
    link.onFrame((text, bytes, binary) => this.onFrame(client, text, bytes, binary === true));
    link.onAlive?.(() => this.onAlive(client));
    link.onClose((code) => this.onClosed(client, code));
    const hello: HelloFrame = {
      type: 'hello', v: PROTOCOL_VERSION, user: client.user, device: client.device, connection: client.id,
      heartbeatIntervalMs: this.deps.limits.heartbeatIntervalMs, limits: helloLimits(this.deps.limits),
    };
    void this.routes.registerThenGreet(client, JSON.stringify(hello));
    return client.id;
  }

  connectionCount(): number {
    return this.clients.size;
  }

  /** The ids of the connections this gateway holds now. */
  connectionIds(): string[] {
    return [...this.clients.keys()];
  }

  /** Graceful shutdown: every client is told to reconnect elsewhere (1001). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sweepTimer?.cancel();
    await this.subscription?.unsubscribe();
    for (const client of [...this.clients.values()]) this.closeClient(client, CLOSE_CODES.GOING_AWAY.code, 'gateway shutting down');
  }

  /** A crash: links drop without a closing handshake and presence is left to expire. */
  async crash(): Promise<void> {
    this.stopped = true;
    this.sweepTimer?.cancel();
    await this.subscription?.unsubscribe();
    const clients = [...this.clients.values()];
    this.clients.clear();
    this.byDevice.clear();
    this.stats.connections = 0;
    this.metrics.connections.set(this.labels, 0);
    for (const client of clients) {
      client.closing = true;
      client.link.terminate();
    }
  }

  /**
   * Fault injection: the gateway loses its links to the backends (broker, queue, presence)
   * while its WebSockets stay up. Pub/Sub is at-most-once, so deliveries published meanwhile
   * are lost for its clients; their frames are refused with UNAVAILABLE (retryable).
   */
  async partition(): Promise<void> {
    if (this.partitioned) return;
    this.partitioned = true;
    await this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  async healPartition(): Promise<void> {
    if (!this.partitioned) return;
    this.partitioned = false;
    this.subscription = await this.deps.broker.subscribe(gatewayChannel(this.deps.id), (payload) => this.onDelivery(payload));
    // Entries may have lapsed while the store was out of reach (no refresh got through): put every
    // one back now, or pushes routed until the next throttled refresh miss them. The resync waits
    // for the routes, as the hello does (PresenceRoutes.registerThenGreet): a message stored after the phone's
    // sync read must find the route.
    const routed = [...this.clients.values()].filter((client) => !client.closing).map((client) => {
      client.lastPresenceRefreshAtMs = this.deps.time.nowMs();
      return new Promise<void>((resolve) => void this.routes.register(client, resolve));
    });
    await Promise.all(routed);
    if (this.partitioned) return; // cut off again meanwhile: the next heal resyncs
    // Pub/Sub kept nothing for us: messages, receipts and presence published meanwhile are gone.
    // Messages would show as gaps only when the next one comes, receipts never: every client is
    // told to sync now (the way Centrifugo tells subscribers their state is insufficient).
    const resync = JSON.stringify({ type: 'resync', reason: 'broker-link-restored' } satisfies ResyncFrame);
    for (const client of this.clients.values()) if (!client.closing) this.write(client, resync);
  }

  /** A WebSocket ping or pong: the client is there (liveness and presence), nothing to answer. */
  private onAlive(client: GatewayClient): void {
    if (client.closing) return;
    const nowMs = this.deps.time.nowMs();
    client.lastFrameAtMs = nowMs;
    this.routes.refresh(client, nowMs);
  }

  private onFrame(client: GatewayClient, text: string, bytes: number, binary = false): void {
    if (client.closing) return;
    const nowMs = this.deps.time.nowMs();
    client.lastFrameAtMs = nowMs;
    this.stats.framesIn++;
    this.metrics.framesIn.inc({ gateway: this.deps.id, type: binary ? 'other' : frameTypeLabel(text) });
    // Any frame proves the device is there, not only pings: a busy client that never pings
    // must not drop out of presence (PresenceRoutes.refresh throttles the store writes).
    this.routes.refresh(client, nowMs);
    if (!this.admitByRate(client, nowMs)) return;
    if (bytes > this.deps.limits.frameBytesMax) {
      this.sendError(client, 'FRAME_TOO_LARGE', undefined);
      return;
    }
    if (binary) {
      // Protocol v1 is JSON in text frames; a binary frame is refused here, never processed.
      this.sendError(client, 'BAD_FRAME', undefined);
      return;
    }
    if (text === PING_TEXT) {
      this.write(client, PONG_TEXT);
      return;
    }
    void this.forward(client, text);
  }

  private async forward(client: GatewayClient, text: string): Promise<void> {
    if (this.partitioned) {
      this.sendError(client, 'UNAVAILABLE', refOf(text));
      return;
    }
    const envelope: InboundEnvelope = { gw: this.deps.id, conn: client.id, user: client.user, device: client.device, frame: text, at: this.deps.time.nowMs() };
    try {
      const result = await this.deps.queue.enqueue(client.id, JSON.stringify(envelope), this.deps.limits.pendingFramesMax);
      if (result.accepted) this.metrics.enqueued.inc(this.labels);
      else {
        this.metrics.enqueueRefused.inc({ gateway: this.deps.id, reason: 'full' });
        this.sendError(client, 'TOO_MANY_PENDING', refOf(text));
      }
    } catch {
      this.metrics.enqueueRefused.inc({ gateway: this.deps.id, reason: 'unavailable' });
      this.sendError(client, 'UNAVAILABLE', refOf(text));
    }
  }

  /** Token bucket per connection; a sustained flood closes the connection (4429). */
  private admitByRate(client: GatewayClient, nowMs: number): boolean {
    const verdict = takeRateToken(client, nowMs, this.deps.limits);
    if (verdict === 'ok') return true;
    this.metrics.rateLimited.inc(this.labels);
    if (verdict === 'flood') {
      this.closeClient(client, CLOSE_CODES.RATE_LIMIT_FLOOD.code, 'rate limit flood');
    } else {
      this.sendError(client, 'RATE_LIMITED', undefined);
    }
    return false;
  }

  private onDelivery(payload: string): void {
    let delivery: GatewayDelivery;
    try {
      delivery = JSON.parse(payload) as GatewayDelivery;
    } catch {
      return; // Not ours to answer: a broken internal payload is dropped (at-most-once channel).
    }
    this.stats.deliveriesIn++;
    this.metrics.deliveries.inc(this.labels);
    if (delivery.kind === 'presence-mark') return this.presenceGaps.onStamp(delivery, true);
    if (delivery.kind === 'deliver' && delivery.presence) {
      this.presenceGaps.onStamp(delivery.presence, false);
      if (!this.presenceOrder.admit(delivery.presence)) return this.metrics.stalePresencePushes.inc(this.labels);
    }
    for (const connectionId of delivery.to) {
      const client = this.clients.get(connectionId);
      if (!client || client.closing) continue;
      if (delivery.kind === 'close') this.closeClient(client, delivery.code, delivery.reason);
      else if (delivery.kind === 'replace') this.replaceIfOlder(client, delivery);
      else this.write(client, delivery.frame);
    }
  }

  /**
   * Closes `client` (4409) if it is older than the connection that replaces it. Two
   * connections of one device opening at once on two gateways each ask to replace the other;
   * only the older one goes (ties broken by connection id), so one always stays.
   */
  private replaceIfOlder(client: GatewayClient, by: { by: string; atMs: number }): void {
    const older = client.connectedAtMs < by.atMs || (client.connectedAtMs === by.atMs && client.id < by.by);
    if (older) this.closeClient(client, CLOSE_CODES.REPLACED.code, 'replaced by a newer connection of this device');
  }

  private write(client: GatewayClient, text: string): void {
    client.link.send(text);
    this.stats.framesOut++;
    this.metrics.framesOut.inc({ gateway: this.deps.id, type: frameTypeLabel(text) });
    if (client.link.bufferedBytes() > this.deps.limits.sendBufferBytesMax) {
      // A reader that cannot keep up would make us hold unbounded memory for it. The close
      // frame would wait behind the full buffer, so the socket is dropped too: the phone
      // sees an abnormal closure (1006) and reconnects, then syncs.
      this.closeClient(client, CLOSE_CODES.SLOW_CONSUMER.code, 'slow consumer');
      client.link.terminate();
    }
  }

  private sendError(client: GatewayClient, code: ErrorCode, ref: string | undefined): void {
    const frame: Record<string, unknown> = { type: 'error', code, message: ERROR_CODES[code].text };
    if (ref !== undefined) frame.ref = ref;
    this.metrics.errors.inc({ gateway: this.deps.id, code });
    this.write(client, JSON.stringify(frame));
  }

  private sweepIdle(): void {
    this.presenceGaps.onSweep();
    const deadlineMs = this.deps.time.nowMs() - this.deps.limits.heartbeatTimeoutMs;
    for (const client of this.clients.values()) {
      if (client.lastFrameAtMs >= deadlineMs || client.closing) continue;
      // Half-open links never finish a closing handshake, so drop the socket as well.
      this.closeClient(client, CLOSE_CODES.HEARTBEAT_TIMEOUT.code, 'heartbeat timeout');
      client.link.terminate();
    }
  }

  private closeClient(client: GatewayClient, code: number, reason: string): void {
    if (client.closing) return;
    client.closing = true;
    this.stats.closesByCode.set(code, (this.stats.closesByCode.get(code) ?? 0) + 1);
    this.metrics.closes.inc({ gateway: this.deps.id, code: String(code) });
    client.link.close(code, reason);
  }

  private onClosed(client: GatewayClient, code: number): void {
    if (this.clients.get(client.id) !== client) return; // crash() already forgot it
    this.clients.delete(client.id);
    if (this.byDevice.get(deviceKey(client)) === client) this.byDevice.delete(deviceKey(client));
    this.stats.connections = this.clients.size;
    this.metrics.connections.set(this.labels, this.clients.size);
    this.metrics.disconnects.inc({ gateway: this.deps.id, code: closeCodeLabel(code) });
    void this.routes.unregister(client);
  }
}

/** Best-effort `ref` for an error about a frame we did not otherwise parse (rare path only). */
function refOf(text: string): string | undefined {
  const parsed = parseJsonBounded(text);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return undefined;
  const fields = parsed.value as Record<string, unknown>;
  const ref = fields.clientMsgId ?? fields.id;
  return typeof ref === 'string' ? ref : undefined;
}

export { presenceRefreshEveryMs };
