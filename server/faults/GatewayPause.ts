import type { Broker, Subscription } from '../ports/Broker.ts';
import type { TimeSource, TimerHandle } from '../ports/Clock.ts';
import type { GatewayEntry } from '../gateway/GatewayListener.ts';
import type { ServerConnection } from '../gateway/ServerConnection.ts';

/** One input held while paused; a client's close is told apart (see settle). */
interface HeldInput {
  close: boolean;
  run(): void;
}

/**
 * Fault injection for the in-process cluster (`pause-gateway`): every input of one gateway goes
 * through here, so the gateway can be frozen as a stopped process (SIGSTOP, a long GC pause)
 * would be. The multi-process cluster really stops the process and installs none. The assembly
 * puts it around the gateway's inputs only when the run has the fault, so the gateway itself
 * has no pause state and its hot paths no check. The inputs:
 * - its links' events (`front`: the listener hands links to the gateway through it): frames,
 *   pings and pongs, and a client's close;
 * - its broker deliveries (`broker`: subscriptions through it);
 * - its heartbeat sweep (`time`: the `every` timers through it).
 *
 * While paused nothing is read or answered, not even pings, and the sweep stands still (a
 * sweep due meanwhile is skipped); what arrives waits, as it would in the socket buffers, and is
 * handed to the gateway in arrival order on `resume`: frames, deliveries and closes alike (a
 * close handled before the frames that came ahead of it would let their presence refresh put
 * back the entry of a connection the gateway no longer holds: sim seed 3000710, D6).
 * A new link is still accepted while paused (the listener admits it); its events wait too.
 */
export class GatewayPause {
  private backlog: HeldInput[] | undefined;

  get paused(): boolean {
    return this.backlog !== undefined;
  }

  pause(): void {
    this.backlog ??= [];
  }

  /** Hands what waited to the gateway, in arrival order. */
  resume(): void {
    const backlog = this.backlog;
    this.backlog = undefined;
    for (const input of backlog ?? []) input.run();
  }

  /**
   * The gateway stops or crashes while paused: the pause ends and what waited is dropped, but
   * for a graceful stop (`closes: 'handle'`) the clients' closes, which will not come again: the
   * gateway forgets those links (and their presence entries) before it stops. Call it before
   * the gateway's stop or crash.
   */
  settle(closes: 'handle' | 'drop'): void {
    const backlog = this.backlog;
    this.backlog = undefined;
    if (closes === 'handle') for (const input of backlog ?? []) if (input.close) input.run();
  }

  /** The gateway as its listener sees it: every link handed over goes through `link`. */
  front(gateway: GatewayEntry): GatewayEntry {
    return {
      get id() { return gateway.id; },
      accept: (link, identity) => gateway.accept(this.link(link), identity),
    };
  }

  /** A link whose events wait while paused. */
  link(inner: ServerConnection): ServerConnection {
    const wrapped: ServerConnection = {
      send: (text) => inner.send(text),
      bufferedBytes: () => inner.bufferedBytes(),
      close: (code, reason) => inner.close(code, reason),
      terminate: () => inner.terminate(),
      onFrame: (handler) => inner.onFrame((text, bytes, binary) => this.input(false, () => handler(text, bytes, binary))),
      onClose: (handler) => inner.onClose((code) => this.input(true, () => handler(code))),
    };
    const onAlive = inner.onAlive?.bind(inner);
    if (onAlive) wrapped.onAlive = (handler) => onAlive(() => this.input(false, handler));
    return wrapped;
  }

  /** A broker whose deliveries to the gateway's subscriptions wait while paused. */
  broker(inner: Broker): Broker {
    return {
      publish: (channel, payload) => inner.publish(channel, payload),
      subscribe: (channel, handler): Promise<Subscription> => inner.subscribe(channel, (payload) => this.input(false, () => handler(payload))),
    };
  }

  /** The gateway's time: its `every` timers (the heartbeat sweep) skip their turns while paused. */
  time(inner: TimeSource): TimeSource {
    return {
      nowMs: () => inner.nowMs(),
      schedule: (delayMs, fn): TimerHandle => inner.schedule(delayMs, fn),
      every: (periodMs, fn): TimerHandle => inner.every(periodMs, () => { if (!this.backlog) fn(); }),
    };
  }

  private input(close: boolean, run: () => void): void {
    if (this.backlog) this.backlog.push({ close, run });
    else run();
  }
}
