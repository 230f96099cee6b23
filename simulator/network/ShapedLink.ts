import type { TimerHandle, TimeSource } from '../../server/ports/Clock.ts';
import type { ClientLink, ClientLinkHandlers } from '../transport/ClientTransport.ts';
import { DirectionTimeline, type LinkStats } from './linkModel.ts';

/** What a link needs from the network it belongs to (ShapedTransport). */
export interface LinkHost {
  readonly time: TimeSource;
  readonly counters: LinkStats;
  readonly bandwidthBytesPerSec: number;
  readonly lingerMs: number;
  /** A fresh one-way propagation delay. */
  drawDelayMs(): number;
  /** While now < this, the whole network is frozen (a stall). */
  stallEndsAtMs(): number;
  /** A timer that dispose() cancels. */
  schedule(delayMs: number, fn: () => void): TimerHandle;
  linkOpened(link: ShapedLink): void;
  linkUnusable(link: ShapedLink): void;
  linkLingering(link: ShapedLink): void;
  linkGone(link: ShapedLink): void;
}

type Inbound = { kind: 'open' } | { kind: 'frame'; text: string } | { kind: 'close'; code: number; reason: string };
type Outbound = { kind: 'frame'; text: string } | { kind: 'close'; code: number; reason: string };
type PhoneState = 'connecting' | 'open' | 'closing' | 'closed';
/** What happens to the inner socket when the phone is done with the link. */
type InnerFate = 'terminate' | 'linger';

interface Queued<T> {
  item: T;
  dueAtMs: number;
}

/**
 * One connection as the phone sees it, over one inner link. Frames and closes queue per
 * direction and are released by `pump` when due; a blackholed link (half-open, or given up on
 * by the phone while the server still holds it) drops everything both ways.
 */
export class ShapedLink implements ClientLink {
  private inner: ClientLink | undefined;
  private phone: PhoneState = 'connecting';
  private blackholed = false;
  private innerClosed = false;
  private readonly outbound: Array<Queued<Outbound>> = [];
  private readonly inbound: Array<Queued<Inbound>> = [];
  private readonly outTimeline: DirectionTimeline;
  private readonly inTimeline: DirectionTimeline;
  private wake: { timer: TimerHandle; atMs: number } | undefined;
  private pumping = false;
  private pumpAgain = false;
  private lingerTimer: TimerHandle | undefined;

  constructor(private readonly host: LinkHost, private readonly handlers: ClientLinkHandlers) {
    this.outTimeline = new DirectionTimeline(host.bandwidthBytesPerSec);
    this.inTimeline = new DirectionTimeline(host.bandwidthBytesPerSec);
  }

  get isOpen(): boolean {
    return this.phone === 'open';
  }

  isBlackholed(): boolean {
    return this.blackholed;
  }

  attach(inner: ClientLink): void {
    this.inner = inner;
  }

  innerHandlers(): ClientLinkHandlers {
    return {
      onOpen: () => this.enqueueInbound({ kind: 'open' }, 0),
      onFrame: (text) => this.enqueueInbound({ kind: 'frame', text }, Buffer.byteLength(text)),
      onClose: (code, reason) => this.onInnerClose(code, reason),
    };
  }

  send(text: string): void {
    if (!this.isOpen) return;
    if (this.blackholed) {
      this.host.counters.framesDropped++;
      return;
    }
    this.enqueueOutbound({ kind: 'frame', text }, Buffer.byteLength(text));
  }

  /** The close frame queues behind the frames already sent, like a real socket's. */
  close(code = 1000, reason = ''): void {
    if (this.phone === 'connecting') return this.abort();
    if (this.phone !== 'open') return;
    // Nobody will answer the handshake on a dead path: the phone's stack gives up (1006).
    if (this.blackholed) return this.closeForPhone(1006, reason || 'closed', 'linger');
    this.phone = 'closing';
    this.enqueueOutbound({ kind: 'close', code, reason }, 0);
  }

  /** Local drop: the server hears the reset, unless the path is dead (half-open): then it lingers. */
  abort(): void {
    this.closeForPhone(1006, 'aborted', this.blackholed ? 'linger' : 'terminate');
  }

  /** Half-open: from now on frames (and closes) vanish both ways; nothing is closed. */
  blackhole(): void {
    if (this.blackholed) return;
    this.blackholed = true;
    this.dropQueues();
    this.host.linkUnusable(this);
    // A close handshake the phone started can no longer complete: its stack times out.
    if (this.phone === 'closing') this.closeForPhone(1006, 'close timed out', 'linger');
  }

  /** Offline or network switch: the phone's OS tells it at once; the server keeps a half-open socket. */
  dropForPhone(reason: string): void {
    this.blackholed = true;
    this.closeForPhone(1006, reason, 'linger');
  }

  /** An abrupt reset: both ends see it now, frames in flight are lost. */
  reset(): void {
    this.closeForPhone(1006, 'connection reset', 'terminate');
  }

  /** Ends the link for the phone (onClose exactly once, never from inside the caller's call). */
  closeForPhone(code: number, reason: string, fate: InnerFate): void {
    if (this.phone === 'closed') return;
    this.phone = 'closed';
    this.blackholed = true;
    this.dropQueues();
    this.host.linkUnusable(this);
    if (this.innerClosed || !this.inner) this.host.linkGone(this);
    else if (fate === 'terminate') this.terminateInner();
    else this.linger();
    this.host.schedule(0, () => this.handlers.onClose(code, reason));
  }

  /** A connect that cannot happen (offline, disposed): fails after `delayMs`, never synchronously. */
  failSoon(delayMs: number, reason: string): void {
    this.phone = 'closed';
    this.host.schedule(delayMs, () => this.handlers.onClose(1006, reason));
  }

  /** Drops the inner socket now (server sees it closed); used for lingering links on heal and dispose. */
  terminateInner(): void {
    this.lingerTimer?.cancel();
    if (!this.innerClosed) this.inner?.abort();
  }

  dispose(): void {
    this.wake?.timer.cancel();
    this.wake = undefined;
    this.phone = 'closed';
    this.blackholed = true;
    this.dropQueues();
    this.terminateInner();
  }

  /** Releases what is due in both directions, in order, unless a stall holds the network. */
  pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.releaseDue();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    this.armWake();
  }

  private releaseDue(): void {
    const nowMs = this.host.time.nowMs();
    if (this.host.stallEndsAtMs() > nowMs) return;
    while (this.outbound[0] && this.outbound[0].dueAtMs <= nowMs) this.transmit(this.outbound.shift()!.item);
    while (this.inbound[0] && this.inbound[0].dueAtMs <= nowMs) this.deliver(this.inbound.shift()!.item);
  }

  /** One timer per link, at the earliest moment something can move (a due frame or a stall's end). */
  private armWake(): void {
    const nextDueMs = Math.min(this.outbound[0]?.dueAtMs ?? Infinity, this.inbound[0]?.dueAtMs ?? Infinity);
    if (nextDueMs === Infinity) return;
    const atMs = Math.max(nextDueMs, this.host.stallEndsAtMs());
    if (this.wake && this.wake.atMs <= atMs) return;
    this.wake?.timer.cancel();
    const timer = this.host.schedule(atMs - this.host.time.nowMs(), () => {
      if (this.wake?.timer === timer) this.wake = undefined;
      this.pump();
    });
    this.wake = { timer, atMs };
  }

  private enqueueOutbound(item: Outbound, bytes: number): void {
    const nowMs = this.host.time.nowMs();
    const dueAtMs = this.outTimeline.dueAtMs(nowMs, bytes, this.host.drawDelayMs());
    if (item.kind === 'frame' && dueAtMs > nowMs) this.host.counters.framesDelayed++;
    this.outbound.push({ item, dueAtMs });
    this.pump();
  }

  private enqueueInbound(item: Inbound, bytes: number): void {
    if (this.blackholed) {
      if (item.kind === 'frame') this.host.counters.framesDropped++;
      return;
    }
    const nowMs = this.host.time.nowMs();
    const dueAtMs = this.inTimeline.dueAtMs(nowMs, bytes, this.host.drawDelayMs());
    if (item.kind === 'frame' && dueAtMs > nowMs) this.host.counters.framesDelayed++;
    this.inbound.push({ item, dueAtMs });
    this.pump();
  }

  private transmit(item: Outbound): void {
    if (!this.inner?.isOpen) return;
    if (item.kind === 'frame') this.inner.send(item.text);
    else this.inner.close(item.code, item.reason);
  }

  private deliver(item: Inbound): void {
    if (this.phone === 'closed') return;
    switch (item.kind) {
      case 'open':
        if (this.phone !== 'connecting') return;
        this.phone = 'open';
        this.host.linkOpened(this);
        this.handlers.onOpen();
        return;
      case 'frame':
        this.handlers.onFrame(item.text);
        return;
      case 'close':
        this.phone = 'closed';
        this.host.linkGone(this);
        this.handlers.onClose(item.code, item.reason);
        return;
    }
  }

  private onInnerClose(code: number, reason: string): void {
    this.innerClosed = true;
    this.lingerTimer?.cancel();
    if (this.phone === 'closed') return this.host.linkGone(this);
    this.host.linkUnusable(this);
    // On a half-open path the server's close is lost like everything else: the phone finds
    // out by its own heartbeat (and its abort then finds the inner link already gone).
    if (this.blackholed) return;
    this.enqueueInbound({ kind: 'close', code, reason }, 0);
  }

  private linger(): void {
    this.host.linkLingering(this);
    this.lingerTimer = this.host.schedule(this.host.lingerMs, () => this.terminateInner());
  }

  private dropQueues(): void {
    this.host.counters.framesDropped += this.outbound.filter((q) => q.item.kind === 'frame').length
      + this.inbound.filter((q) => q.item.kind === 'frame').length;
    this.outbound.length = 0;
    this.inbound.length = 0;
  }
}
