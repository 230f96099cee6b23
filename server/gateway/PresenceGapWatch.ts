import type { Clock } from '../ports/Clock.ts';
import type { PresenceStamp } from '../protocol/envelopes.ts';

/**
 * Watches the numbers of the presence service's pushes on one gateway's channel. Presence
 * pushes are numbered per gateway by the presence service, and every sweep repeats the last
 * number (`mark`). A push that skips a number, or a mark above the last number seen, means a
 * push never arrived (the broker is at most once): every connection here may have missed a
 * friend's change and is told to ask presence again (`notify`). A new stream (the service
 * restarted, or this gateway never heard it) counts from 0, so a first push lost shows too.
 * Lower numbers (a duplicate, a reordered push) are not gaps.
 */
export class PresenceGapWatch {
  /** The stream heard last and its last number. */
  private last: PresenceStamp | undefined;
  /** When connections were last told of a gap, and whether another notice is due. */
  private noticeAtMs = -Infinity;
  private pending = false;

  /** `notify` tells every connection; at most once per `noticeEveryMs`. */
  constructor(private readonly clock: Clock, private readonly noticeEveryMs: number, private readonly notify: () => void) {}

  onStamp(stamp: PresenceStamp, mark: boolean): void {
    const last = this.last?.stream === stamp.stream ? this.last.seq : 0;
    if (stamp.seq <= last) return;
    this.last = { stream: stamp.stream, seq: stamp.seq };
    const gap = mark ? stamp.seq > last : stamp.seq > last + 1;
    if (gap) this.notice();
  }

  /** The gateway's sweep: a notice asked for within the last interval goes now. */
  onSweep(): void {
    if (this.pending) this.notice();
  }

  /** At most one notice per interval; one asked for meanwhile goes at the next sweep. */
  private notice(): void {
    const nowMs = this.clock.nowMs();
    if (nowMs - this.noticeAtMs < this.noticeEveryMs) {
      this.pending = true;
      return;
    }
    this.pending = false;
    this.noticeAtMs = nowMs;
    this.notify();
  }
}
