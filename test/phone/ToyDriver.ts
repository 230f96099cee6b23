// A second phone driver, for tests only: a tiny in-memory chat "server" reached through a toy
// protocol that has nothing to do with chatsim.v1 (no frames, no JSON, no server/protocol).
// It proves the phone's driver seam: a phone that sends, another that receives, receipts that
// flow as far as the toy declares (delivery receipts yes, read markers no), everything else
// refused. Events travel one `latencyMs` tick on the injected time, like a network.
import type { TimeSource } from '../../server/ports/Clock.ts';
import { ALL_CAPABILITIES, type DriverCapabilities } from '../../simulator/drivers/DriverCapabilities.ts';
import type {
  DriverSession, PhoneDriver, PhoneEvent, PhoneIntent, SessionHandlers, WireMessage,
} from '../../simulator/drivers/PhoneDriver.ts';
import { UNLIMITED_PAGING } from '../../simulator/drivers/PhoneDriver.ts';
import type { MetricsSink } from '../../simulator/metrics/MetricsSink.ts';

/** What the toy carries: no read markers, presence, typing or group chats. */
export const TOY_CAPABILITIES: DriverCapabilities = Object.freeze({ ...ALL_CAPABILITIES, readMarkers: false, presence: false, typing: false, groups: false });

/** The toy server: chats with members, a per-chat seq, cumulative delivery cursors per member. */
export class ToyServer {
  readonly messages = new Map<string, WireMessage[]>();
  /** What every intent the server heard was, in order ("user/device kind"). */
  readonly heard: string[] = [];
  private readonly sessions = new Set<ToySession>();
  private msgCounter = 0;

  constructor(readonly time: TimeSource, private readonly members: Record<string, string[]>, readonly latencyMs = 5) {}

  connect(session: ToySession): void {
    this.sessions.add(session);
  }

  disconnect(session: ToySession): void {
    this.sessions.delete(session);
  }

  /** Stores once per clientMsgId (an idempotent send), then pushes to every member's other sessions. */
  handle(from: ToySession, intent: PhoneIntent): void {
    if (intent.kind === 'app-state') return; // the toy server does not care whether the app is visible
    this.heard.push(`${from.user}/${from.device} ${intent.kind}`);
    if (intent.kind === 'send') return this.store(from, intent.chat, intent.clientMsgId, intent.body);
    if (intent.kind === 'ack') return this.receipt(from, intent.chat, intent.upTo);
    if (intent.kind === 'sync' && intent.mode === 'positions') return this.sync(from, intent.id, intent.positions);
    if (intent.kind === 'ping' || intent.kind === 'read' || intent.kind === 'typing') return; // read markers and typing: not in this protocol
    from.deliver({ kind: 'refused', code: 'unsupported', ...('id' in intent ? { ref: intent.id } : {}), retryable: false, positionsGone: false });
  }

  private store(from: ToySession, chat: string, clientMsgId: string, body: string): void {
    const log = this.messages.get(chat) ?? [];
    this.messages.set(chat, log);
    let message = log.find((m) => m.clientMsgId === clientMsgId);
    if (!message) {
      message = { chat, seq: log.length + 1, msgId: `toy-${++this.msgCounter}`, from: from.user, fromDevice: from.device, clientMsgId, body, ts: this.time.nowMs() };
      log.push(message);
      for (const session of this.sessionsOf(chat)) if (session !== from) session.deliver({ kind: 'message', message });
    }
    from.deliver({ kind: 'stored', clientMsgId, chat, seq: message.seq, msgId: message.msgId });
  }

  /** A member's delivery ack becomes a receipt for every other member (cumulative, per user). */
  private receipt(from: ToySession, chat: string, upTo: number): void {
    for (const session of this.sessionsOf(chat)) if (session.user !== from.user) session.deliver({ kind: 'receipt', receipt: { chat, user: from.user, kind: 'delivered', upTo } });
  }

  private sync(from: ToySession, id: string, positions: Record<string, number>): void {
    const chats = Object.keys(this.members).filter((chat) => this.members[chat]!.includes(from.user)).map((chat) => {
      const log = this.messages.get(chat) ?? [];
      return { chat, messages: log.filter((m) => m.seq > (positions[chat] ?? 0)), head: log.length, hasMore: false, receipts: [] };
    });
    from.deliver({ kind: 'sync-page', ref: id, epoch: 'toy', hasMore: false, chats, entries: [] });
  }

  private sessionsOf(chat: string): ToySession[] {
    const members = this.members[chat] ?? [];
    return [...this.sessions].filter((s) => members.includes(s.user));
  }
}

/** Endpoints are "toy://<user>/<device>"; the token is not checked. */
export class ToyDriver implements PhoneDriver {
  readonly protocol = 'toy';
  readonly capabilities = TOY_CAPABILITIES;

  constructor(private readonly server: ToyServer) {}

  open(endpoint: string, _token: string, _metrics: MetricsSink, handlers: SessionHandlers): DriverSession {
    const [user, device] = endpoint.replace('toy://', '').split('/') as [string, string];
    return new ToySession(this.server, user, device, handlers);
  }
}

export class ToySession implements DriverSession {
  private open = true;

  constructor(private readonly server: ToyServer, readonly user: string, readonly device: string, private readonly handlers: SessionHandlers) {
    server.time.schedule(server.latencyMs, () => {
      if (!this.open) return;
      server.connect(this);
      handlers.onOpen();
      this.deliver({ kind: 'session', heartbeatIntervalMs: 60_000, paging: UNLIMITED_PAGING });
    });
  }

  send(intent: PhoneIntent): void {
    if (!this.open) return;
    this.server.time.schedule(this.server.latencyMs, () => { if (this.open) this.server.handle(this, intent); });
  }

  /** Server to phone, one latency later. */
  deliver(event: PhoneEvent): void {
    this.server.time.schedule(this.server.latencyMs, () => {
      if (!this.open || !this.handlers.onInbound()) return;
      this.handlers.onEvent(event);
    });
  }

  close(code: number, reason: string): void {
    this.end(code, reason, false);
  }

  abort(): void {
    this.end(1006, 'aborted', true);
  }

  private end(code: number, reason: string, retryable: boolean): void {
    if (!this.open) return;
    this.open = false;
    this.server.disconnect(this);
    this.handlers.onClose({ code, reason, retryable, goingAway: false });
  }
}
