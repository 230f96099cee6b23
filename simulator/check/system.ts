import { isRetryableClose } from '../../server/protocol/errorCodes.ts';
import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { Finding, fmt, unknown, userOf, type Family, type Settings } from './common.ts';
import type { PropertyResult } from './PropertyResult.ts';
import type { RunState } from './runState.ts';
import { StallWindows } from './stallWindows.ts';

/**
 * E1 typing: the server has no "stop typing" frame; an indicator is shown until a timeout, so a
 * typing notice is only right if the typer sent a typing frame within that timeout before it.
 * A server fault (a frozen gateway, a partition, a restart) between the typing frame and the
 * notice excuses it: a process that wakes up releases what it held, and without trusted client
 * clocks no server can tell an old typing frame from a new one. Excused notices are counted.
 * So is a notice that arrived with the open of a link still opening when the typer typed: the
 * server holds a connection from the phone's dial and pushes into it, and a stalled network
 * hands the phone the open and everything pushed behind it at once, however late (swarm seed
 * 2000289: u4/d1 dialled at 5.053 s into stalls chained until 13.613 s; u3 typed at 5.336 s and
 * u4/d1 heard it with the open). No part of the system can tell such a notice is old: the
 * protocol's typing push carries no time, and none could be trusted across skewed clocks. A
 * typing frame sent before the dial was pushed to an older connection, not this one, so a
 * server replaying old notices at a connect is still caught. Likewise a notice the observer's
 * own network stall held (oracle stall-start/stall-end): late by at most what the stall held.
 */
export class TypingFamily implements Family {
  private readonly lastTypingOut = new Map<string, number>();
  private typingOuts = 0;
  private typingSeen = 0;
  private excused = 0;
  private heldByOpening = 0;
  private heldByStall = 0;
  private readonly stalls = new StallWindows();
  /** device -> when it last dialled (oracle link-dial) and when its link last came up (link-up). */
  private readonly lastDialMs = new Map<string, number>();
  private readonly lastUpMs = new Map<string, number>();
  private faultsActive = 0;
  private lastFaultEndMs = -Infinity;
  private readonly e1 = new Finding();

  constructor(private readonly settings: Settings) {}

  observe(e: HistoryEvent): void {
    if (e.type === 'typing-out') {
      this.typingOuts++;
      this.lastTypingOut.set(`${e.chat}|${userOf(e.p)}`, e.t);
    } else if (e.type === 'typing-seen') {
      this.typingSeen++;
      const last = this.lastTypingOut.get(`${e.chat}|${e.user}`);
      const limitMs = this.settings.typingTimeoutMs + this.settings.tolMs;
      if (last !== undefined && e.t - last > limitMs && (this.faultsActive > 0 || this.lastFaultEndMs > last)) this.excused++;
      else if (last !== undefined && e.t - last > limitMs && this.heldByOpeningLink(e.p, last, e.t)) this.heldByOpening++;
      else if (last !== undefined && e.t - last > limitMs && this.stalls.extend(e.p, last, last + limitMs) >= e.t) this.heldByStall++;
      else if (last === undefined || e.t - last > limitMs) {
        this.e1.hit(last === undefined ? Infinity : e.t - last, () => `device ${e.p} was shown ${e.user} typing in ${e.chat} at ${fmt(e.t)}, but ${e.user} ${last === undefined ? 'had sent no typing frame' : `last typed at ${fmt(last)}`}: the indicator should have cleared after ${this.settings.typingTimeoutMs} ms`);
      }
    } else if (e.type === 'oracle' && (e.what === 'stall-start' || e.what === 'stall-end')) {
      this.stalls.observe(e);
    } else if (e.type === 'oracle' && e.what === 'link-dial') {
      this.lastDialMs.set(e.device, e.t);
    } else if (e.type === 'oracle' && e.what === 'link-up') {
      this.lastUpMs.set(e.device, e.t);
    } else if (e.type === 'oracle' && e.what === 'fault-start') {
      this.faultsActive++;
    } else if (e.type === 'oracle' && e.what === 'fault-end') {
      this.faultsActive = Math.max(0, this.faultsActive - 1);
      this.lastFaultEndMs = e.t;
    }
  }

  /**
   * The notice came with the open of the device's current link (within the tolerance), and the
   * typing frame went out after that link was dialled: pushed into the opening connection.
   */
  private heldByOpeningLink(device: string, typedAtMs: number, seenAtMs: number): boolean {
    const dialMs = this.lastDialMs.get(device);
    const upMs = this.lastUpMs.get(device);
    if (dialMs === undefined || upMs === undefined || upMs < dialMs) return false;
    return seenAtMs - upMs <= this.settings.tolMs && typedAtMs >= dialMs - this.settings.tolMs;
  }

  finish(): PropertyResult[] {
    if (this.typingOuts === 0) {
      return [unknown('E1', 'typing indicators clear', this.typingSeen === 0 ? 'no typing in the history' : 'typing notices were seen but no typing-out events were recorded (phone predates typing-out recording)')];
    }
    const notes = [
      ...(this.excused > 0 ? [`${this.excused} stale typing notice(s) released by a server fault excused`] : []),
      ...(this.heldByOpening > 0 ? [`${this.heldByOpening} stale typing notice(s) held by a stalled link until its open reached the phone excused`] : []),
      ...(this.heldByStall > 0 ? [`${this.heldByStall} stale typing notice(s) held by the observer's network stall excused`] : []),
    ];
    return [this.e1.result('E1', 'typing indicators clear', notes.length > 0 ? notes.join('; ') : undefined)];
  }
}

/** F2 (metric): ok / invoke per operation type. */
export function availability(events: { invoked: Map<string, number>; outcomes: Map<string, number> }): PropertyResult {
  const parts: string[] = [];
  for (const [op, invoked] of events.invoked) {
    const ok = events.outcomes.get(`${op}|ok`) ?? 0;
    const fail = events.outcomes.get(`${op}|fail`) ?? 0;
    const info = events.outcomes.get(`${op}|info`) ?? 0;
    parts.push(`${op} ${ok}/${invoked} ok (${invoked === 0 ? 0 : ((100 * ok) / invoked).toFixed(1)}%), ${fail} fail, ${info} info`);
  }
  return { id: 'F2', name: 'availability (metric)', verdict: 'pass', violations: 0, examples: [], reason: parts.join('; ') || 'no operations' };
}

/** Counts invokes and completions per op for F2. */
export class AvailabilityCounter {
  readonly invoked = new Map<string, number>();
  readonly outcomes = new Map<string, number>();

  observe(e: HistoryEvent): void {
    if (e.type === 'invoke') this.invoked.set(e.op, (this.invoked.get(e.op) ?? 0) + 1);
    else if (e.type === 'ok' || e.type === 'fail' || e.type === 'info') this.outcomes.set(`${e.op}|${e.type}`, (this.outcomes.get(`${e.op}|${e.type}`) ?? 0) + 1);
  }
}

/**
 * F1: after the heal, pending sends, unseen messages (A5), unconverged ticks (B5/B7) and presence
 * (D4) all reach zero; fails saying which did not.
 */
export function convergence(state: RunState, others: PropertyResult[]): PropertyResult {
  const finding = new Finding();
  const absent = new Set<string>();
  for (const send of state.sends.values()) {
    if (send.outcome !== undefined) continue;
    if (!state.connectedAtEnd(send.p)) { absent.add(send.p); continue; }
    finding.hit(1, () => `send ${send.clientMsgId} from ${send.p} in ${send.chat} invoked at ${fmt(send.invokedAtMs)} never completed`);
  }
  // A close the protocol marks retryable (1001 from a draining gateway, 4408, 1006, ...) owes
  // a reconnect: a device still down at the end that never dialled again after one gave up,
  // and nothing it missed is judged (A5 skips devices not connected at the end), so it is
  // counted here. One that kept dialling a cluster with no gateway left did not give up.
  let gaveUp = 0;
  for (const [p, close] of state.devicesLeftDown()) {
    if (!isRetryableClose(close.code)) continue;
    gaveUp++;
    finding.hit(1, () => `${p} was closed with ${close.code} at ${fmt(close.atMs)}, a code that says reconnect, and never dialled again`);
  }
  const parts: string[] = [`${finding.violations - gaveUp} pending send(s)`, `${gaveUp} device(s) that gave up after a retryable close`];
  const labels: Record<string, string> = { A5: 'unseen message(s)', B5: 'unconverged tick(s)', B7: 'unconverged piggybacked tick(s)', D4: 'unconverged presence view(s)' };
  let total = finding.violations;
  const examples = finding.examples();
  for (const r of others) {
    const label = labels[r.id];
    if (!label) continue;
    parts.push(`${r.violations} ${label} (${r.id})`);
    total += r.violations;
    if (r.violations > 0 && examples.length < 3) examples.push(`${r.id}: ${r.examples[0] ?? ''}`);
  }
  const absentNote = absent.size > 0 ? `; ${absent.size} device(s) not connected at the end of the run were not checked (never started, or still offline after the heal)` : '';
  return { id: 'F1', name: 'convergence after heal', verdict: total === 0 ? 'pass' : 'fail', violations: total, examples, reason: `${parts.join(', ')}${absentNote}` };
}
