// The phone's own messages until the server stores them: kept through dead links, sent at
// each session start, repeated with the same clientMsgId (the idempotency key) until stored.
import type { TimerHandle } from '../../server/ports/Clock.ts';
import type { WireMessage } from '../drivers/PhoneDriver.ts';
import type { Inbox } from './Inbox.ts';
import type { OutboxEntry } from './LocalStore.ts';
import type { PhoneCore } from './PhoneCore.ts';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export class Outbox {
  private sendCounter = 0;
  private readonly retryTimers = new Map<string, TimerHandle>();
  /** Sends that ended unknown (a retry refused for good): if the message comes back, the send was stored. */
  private readonly unknownSends = new Map<string, OutboxEntry>();
  /** Pending sends whose last transmission was refused with a retryable code: waiting out a backoff, not in flight. */
  private readonly refusedPending = new Set<string>();

  /** `inbox` is read late: the phone wires its rooms after building them. */
  constructor(private readonly core: PhoneCore, private readonly inbox: () => Inbox) {}

  /**
   * The user presses send. The message goes to the outbox first (so it survives a dead
   * link) and is transmitted now if a link is up (hello seen), otherwise at the next hello.
   * Returns the clientMsgId, the idempotency key every retry reuses.
   */
  send(chat: string, body: string): string {
    const { core } = this;
    const clientMsgId = this.nextClientMsgId();
    const entry: OutboxEntry = { chat, clientMsgId, body, createdMs: core.nowMs(), shownAtMs: (core.config.wallClock ?? core.config.time).nowMs(), state: 'pending', attempts: 0 };
    core.store.outbox.set(clientMsgId, entry);
    core.store.timeline(chat);
    core.record({ type: 'invoke', op: 'send', chat, clientMsgId, body });
    if (core.linkUp()) this.transmit(entry);
    return clientMsgId;
  }

  /** Everything not yet stored goes out (at a session's start). */
  flush(): void {
    for (const entry of this.core.store.pending()) this.transmit(entry);
  }

  /** The server stored an own message (a repeated answer changes nothing). */
  stored(clientMsgId: string, seq: number, msgId: string): void {
    const entry = this.core.store.outbox.get(clientMsgId);
    if (!entry || entry.state !== 'pending') return; // a repeated ACK: already applied
    this.acknowledge(entry, seq, msgId);
  }

  /** Our own message came back (a sync after a lost ACK): true if it counted as the ACK. */
  ownMessageSeen(message: WireMessage): boolean {
    const entry = this.core.store.outbox.get(message.clientMsgId);
    if (entry?.state === 'pending') {
      this.acknowledge(entry, message.seq, message.msgId);
      return true;
    }
    // A send whose outcome was unknown (a retry refused) turns out stored: it resolves now.
    const unknown = this.unknownSends.get(message.clientMsgId);
    if (unknown && !entry) {
      this.unknownSends.delete(message.clientMsgId);
      this.core.record({ type: 'ok', op: 'send', chat: unknown.chat, clientMsgId: unknown.clientMsgId, seq: message.seq, msgId: message.msgId });
    }
    return false;
  }

  /** The server refused the send `clientMsgId`; a retryable refusal is left to the retry timer. */
  refused(clientMsgId: string, code: string, retryable: boolean): void {
    const { core } = this;
    const entry = core.store.outbox.get(clientMsgId);
    if (!entry || entry.state !== 'pending') return;
    if (retryable) return void this.refusedPending.add(clientMsgId); // the retry timer resends, or serverBack()
    this.refusedPending.delete(entry.clientMsgId);
    this.retryTimers.get(entry.clientMsgId)?.cancel();
    this.retryTimers.delete(entry.clientMsgId);
    core.store.outbox.delete(entry.clientMsgId);
    // A refusal of a repeat proves nothing of the earlier tries: one may have been stored before
    // the refusal became true (a member who left the group between the first try and its retry:
    // swarm seed 33, NOT_MEMBER for a send stored as seq 5). The outcome is unknown, not failed.
    if (entry.attempts > 1) {
      core.record({ type: 'info', op: 'send', chat: entry.chat, clientMsgId: entry.clientMsgId, reason: `retry refused: ${code}` });
      this.unknownSends.set(entry.clientMsgId, entry);
    } else core.record({ type: 'fail', op: 'send', chat: entry.chat, clientMsgId: entry.clientMsgId, code });
  }

  /**
   * A sync round was answered: the backends the refusals named are reachable again. Sends refused
   * with a retryable code go now, not after their backoff, which grows over the entry's life (to
   * `sendRetryCapMs`, 30 s) and outlasted the heal: swarm seed 4023076, a send refused UNAVAILABLE
   * through a store outage and a gateway partition waited past the heal's end though a sync was
   * answered 0.9 s after the partition healed (F1). A send still in flight is left to its timer.
   */
  serverBack(): void {
    if (!this.core.linkUp()) return;
    for (const clientMsgId of [...this.refusedPending]) {
      const entry = this.core.store.outbox.get(clientMsgId);
      if (entry?.state === 'pending') this.transmit(entry);
      else this.refusedPending.delete(clientMsgId);
    }
  }

  /** The first ACK of an own message: tick sent, place it in the timeline, apply known receipts. */
  private acknowledge(entry: OutboxEntry, seq: number, msgId: string): void {
    const { core } = this;
    entry.state = 'sent';
    this.refusedPending.delete(entry.clientMsgId);
    entry.seq = seq;
    entry.msgId = msgId;
    this.retryTimers.get(entry.clientMsgId)?.cancel();
    this.retryTimers.delete(entry.clientMsgId);
    const now = core.nowMs();
    core.record({ type: 'ok', op: 'send', chat: entry.chat, clientMsgId: entry.clientMsgId, seq, msgId });
    core.record({ type: 'tick', chat: entry.chat, clientMsgId: entry.clientMsgId, seq, tick: 'sent' });
    core.config.metrics.observe('sendToAck', now - entry.createdMs);
    const inbox = this.inbox();
    inbox.place({ chat: entry.chat, seq, from: core.config.user, fromDevice: core.config.device, clientMsgId: entry.clientMsgId, ts: now, via: 'push' });
    inbox.advanceTick(entry, core.store.tickFromCursors(entry.chat, seq));
  }

  private transmit(entry: OutboxEntry): void {
    const { core } = this;
    entry.attempts++;
    this.refusedPending.delete(entry.clientMsgId);
    core.send({ kind: 'send', chat: entry.chat, clientMsgId: entry.clientMsgId, body: entry.body });
    this.retryTimers.get(entry.clientMsgId)?.cancel();
    this.retryTimers.set(entry.clientMsgId, core.timers.schedule(core.randomRetryDelayMs(entry.attempts - 1), () => {
      this.retryTimers.delete(entry.clientMsgId);
      if (entry.state === 'pending' && core.linkUp()) {
        core.config.metrics.increment('sends.retried');
        this.transmit(entry);
      }
    }));
  }

  private nextClientMsgId(): string {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += ALPHABET[this.core.random.nextInt(ALPHABET.length)];
    // The run start makes ids unique across runs against the same (persistent) server.
    return `${this.core.config.device}-${this.core.config.startMs.toString(36)}-${++this.sendCounter}-${suffix}`;
  }
}
