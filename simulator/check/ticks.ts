import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { Finding, fmt, getOr, unknown, userOf, type CheckFacts, type Family, type Settings } from './common.ts';
import type { PropertyResult } from './PropertyResult.ts';
import type { RunState } from './runState.ts';
import { ReceiptIdentity, impliedReceipts, type Implied, type SentReceipt } from './tickIdentity.ts';

type Tick = Extract<HistoryEvent, { type: 'tick' }>;
type Kind = 'delivered' | 'read';
const RANK = { sent: 1, delivered: 2, read: 3 } as const;

/** One own message at its sender device: when each tick was shown. */
interface OwnMessage {
  chat: string;
  clientMsgId: string;
  seq: number;
  sentAtMs: number;
  deliveredAtMs: number;
  readAtMs: number;
  last: keyof typeof RANK;
}

/** A read the device owes: a message from someone else rendered while its chat was on screen. */
interface OwedRead {
  sinceMs: number;
  seq: number;
  /** Rendered while still syncing: the debounce starts when the phone is ready. */
  waitingReady: boolean;
}

/** Recent timer lateness reports kept per device (a window of a few seconds needs only the last few). */
const TIMER_LATENESS_KEPT = 16;

/**
 * B1–B8, ticks and receipts. Safety (B1, B3, B6, B8 evidence) is judged during the pass from the
 * receipts each reader sent so far; B4 and B5/B7 are judged at the end from each sender's
 * own messages and the receipts of devices still connected.
 */
export class TicksFamily implements Family {
  private readonly own = new Map<string, OwnMessage>();
  /** chat -> user -> highest delivered / read upTo any of its devices sent so far. */
  private readonly userReceipts = new Map<string, Map<string, { delivered: number; read: number }>>();
  /** chat -> device -> the receipts it sent, for convergence at the end. */
  private readonly deviceReceipts = new Map<string, Map<string, SentReceipt[]>>();
  /** Ticks whose evidence was missing when seen: re-judged once the events of the same few ms are in (ties). */
  private deferred: Array<{ e: Tick; due: number }> = [];
  private readonly lastStandaloneRead = new Map<string, number>();
  private readonly view = new Map<string, { foreground: boolean; chat: string | undefined }>();
  private readonly syncing = new Set<string>();
  /** Devices between `ready` and their next connect or disconnect: the only ones that can send a read. */
  private readonly readyNow = new Set<string>();
  /** device -> timer lateness its receipts reported, [t, lateMs], recent last (see lateSlackMs). */
  private readonly timerLateness = new Map<string, Array<[number, number]>>();
  /** device|chat -> reads owed, oldest first (seq and sinceMs both grow along the list). */
  private readonly owed = new Map<string, OwedRead[]>();
  private readonly readSent = new Map<string, number>();
  private readonly othersUpTo = new Map<string, number>();
  private readonly receiptIn = new Map<string, number>();
  private viewEvents = 0;
  /** Read receipts whose debounce timer fired late on a busy load generator (their delay is excused). */
  private generatorLateReads = 0;
  private receiptInRegressions = 0;
  private readonly b1 = new Finding();
  private readonly b2 = new Finding();
  private readonly b3 = new Finding();
  private readonly b6 = new Finding();
  private readonly b8 = new Finding();
  /** Without a server order (per-device numbering), receipts are matched to messages by identity (tickIdentity.ts). */
  private readonly identity: ReceiptIdentity | undefined;

  constructor(private readonly state: RunState, private readonly facts: CheckFacts, private readonly settings: Settings, private readonly phoneRecordsReady = false) {
    this.identity = facts.driverCapabilities?.serverOrder === false ? new ReceiptIdentity() : undefined;
  }

  observe(e: HistoryEvent): void {
    if (this.deferred.length > 0 && e.t > this.deferred[0]!.due) this.rejudge(e.t);
    switch (e.type) {
      case 'tick': return this.onTick(e);
      case 'receipt-out': return this.onReceiptOut(e);
      case 'receipt-in': return this.onReceiptIn(e);
      case 'render': return this.onRender(e);
      case 'view': return this.onView(e);
      case 'connect': this.syncing.add(e.p); this.readyNow.delete(e.p); this.lastStandaloneRead.delete(e.p); return;
      case 'disconnect': this.readyNow.delete(e.p); return this.dropOwed(e.p, e.t, undefined);
      case 'ready': this.ready(e.p, e.t); return;
      case 'ok': if (e.op === 'sync' && !e.hasMore && !this.phoneRecordsReady) this.ready(e.p, e.t); return;
      default: return;
    }
  }

  // ------------------------------------------------------------- ticks

  private onTick(e: Tick): void {
    const key = `${e.p}|${e.clientMsgId}`;
    let m = this.own.get(key);
    if (!m) this.own.set(key, (m = { chat: e.chat, clientMsgId: e.clientMsgId, seq: e.seq, sentAtMs: Infinity, deliveredAtMs: Infinity, readAtMs: Infinity, last: e.tick }));
    else if (RANK[e.tick] < RANK[m.last]) {
      const from = m.last;
      this.b1.hit(RANK[from] - RANK[e.tick], () => `device ${e.p}: message ${e.clientMsgId} in ${e.chat} went from ${from} back to ${e.tick} at ${fmt(e.t)}`);
    } else m.last = e.tick;
    const at = `${e.tick}AtMs` as const;
    m[at] = Math.min(m[at], e.t);
    if (e.tick === 'sent') {
      if (!this.facts.persisted) return;
      const stored = this.facts.persisted.get(e.chat)?.get(e.seq);
      if (stored !== e.clientMsgId) this.b2.hit(1, () => `device ${e.p} showed ${e.chat} seq ${e.seq} (${e.clientMsgId}) as sent at ${fmt(e.t)}, but after the run the store ${stored === undefined ? 'holds no seq ' + e.seq : `holds seq ${e.seq} as ${stored}`} in ${e.chat}`);
      return;
    }
    if (!this.judgeEvidence(e, false)) this.deferred.push({ e, due: e.t + this.settings.causalSlackMs });
  }

  /**
   * B3: some other member's device had sent a receipt covering the message before the tick;
   * B8 (groups): every other member at send time had. Returns false if evidence is missing.
   */
  private judgeEvidence(e: Tick, final: boolean): boolean {
    const sender = userOf(e.p);
    const others = this.state.membersAt(e.chat, e.seq).filter((u) => u !== sender);
    if (others.length === 0) return true;
    const receipts = this.userReceipts.get(e.chat);
    const kind = e.tick as Kind;
    let covered = 0;
    let lagging: string | undefined;
    for (const user of others) {
      if (this.identity ? this.identity.covers(e.chat, user, kind, e.clientMsgId) : (receipts?.get(user)?.[kind] ?? 0) >= e.seq) covered++;
      else lagging ??= user;
    }
    if (covered === others.length) return true;
    if (!final) return false;
    if (covered === 0) {
      this.b3.hit(2, () => `device ${e.p} showed ${e.chat} seq ${e.seq} (${e.clientMsgId}) as ${kind} at ${fmt(e.t)}, but no other member had sent a ${kind} receipt up to ${e.seq} by then (none of ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''})`);
    }
    if (others.length > 1) {
      this.b8.hit(others.length - covered, () => `group ${e.chat}: device ${e.p} showed seq ${e.seq} (${e.clientMsgId}) as ${kind} at ${fmt(e.t)} when only ${covered} of ${others.length} other members had sent a ${kind} receipt up to it (${lagging} had not)`);
    }
    return true;
  }

  private rejudge(nowMs: number): void {
    const keep: typeof this.deferred = [];
    for (const d of this.deferred) {
      if (d.due >= nowMs) keep.push(d);
      else this.judgeEvidence(d.e, true);
    }
    this.deferred = keep;
  }

  // ------------------------------------------------------------- receipts

  private onReceiptOut(e: Extract<HistoryEvent, { type: 'receipt-out' }>): void {
    if (e.timerLateMs !== undefined && e.timerLateMs > 0) {
      const late = getOr(this.timerLateness, e.p, () => []);
      late.push([e.t, e.timerLateMs]);
      if (late.length > TIMER_LATENESS_KEPT) late.shift();
    }
    const held = this.state.heldUpTo(e.p, e.chat);
    if (e.upTo > held) this.b3.hit(e.upTo - held, () => `device ${e.p} sent a ${e.kind} receipt for ${e.chat} up to ${e.upTo} at ${fmt(e.t)} while it held ${e.chat} only up to seq ${held}`);
    this.identity?.onReceiptOut(e);
    const user = getOr(getOr(this.userReceipts, e.chat, () => new Map()), userOf(e.p), () => ({ delivered: 0, read: 0 }));
    user.delivered = Math.max(user.delivered, e.upTo);
    getOr(getOr(this.deviceReceipts, e.chat, () => new Map()), e.p, () => []).push({ t: e.t, kind: e.kind, upTo: e.upTo, piggyback: e.piggyback });
    if (e.kind === 'delivered') return;
    user.read = Math.max(user.read, e.upTo);
    this.onReadSent(e);
  }

  /** B4 (sender side): the per-reader watermark a sender receives should only grow; counted as a note. */
  private onReceiptIn(e: Extract<HistoryEvent, { type: 'receipt-in' }>): void {
    const key = `${e.p}|${e.chat}|${e.user}|${e.kind}`;
    const last = this.receiptIn.get(key) ?? 0;
    if (e.upTo < last) this.receiptInRegressions++;
    else this.receiptIn.set(key, e.upTo);
  }

  // ------------------------------------------------------------- B6 read debounce

  private onReadSent(e: Extract<HistoryEvent, { type: 'receipt-out' }>): void {
    const key = `${e.p}|${e.chat}`;
    const previousUpTo = this.readSent.get(key) ?? 0;
    this.readSent.set(key, Math.max(e.upTo, previousUpTo));
    // A read that does not move the watermark (the phone re-announces its last read after a
    // reconnect, in case the first was lost) is not a new read: the debounce bounds new reads.
    if (!e.piggyback && e.upTo > previousUpTo) {
      const last = this.lastStandaloneRead.get(key);
      const minGapMs = this.settings.readDebounceMs - this.settings.tolMs;
      if (last !== undefined && e.t - last < minGapMs) this.b6.hit(minGapMs - (e.t - last), () => `device ${e.p} sent read receipts for ${e.chat} at ${fmt(last)} and again at ${fmt(e.t)} (upTo ${e.upTo}), ${Math.round(e.t - last)} ms apart: closer than the ${this.settings.readDebounceMs} ms debounce`);
      this.lastStandaloneRead.set(key, e.t);
    }
    const owed = this.owed.get(key);
    if (!owed) return;
    // Reads are cumulative: this one settles every owed seq up to upTo; the oldest of them
    // is the one whose lateness counts. Seqs above upTo stay owed from their own render.
    let settled = 0;
    while (settled < owed.length && owed[settled]!.seq <= e.upTo) settled++;
    if (settled === 0) return;
    const oldest = owed.slice(0, settled).find((o) => !o.waitingReady);
    owed.splice(0, settled);
    if (owed.length === 0) this.owed.delete(key);
    // The phone's own timer firing late is the load generator's delay, not the protocol's; a
    // read that does not say (an older history) gets the lateness the device's timers showed.
    const generatorLateMs = e.timerLateMs ?? (oldest ? this.lateSlackMs(e.p, oldest.sinceMs, e.t) : 0);
    if (generatorLateMs > 0) this.generatorLateReads++;
    if (oldest) this.judgeLate(e.p, e.chat, oldest, e.t - generatorLateMs, `it went out only at ${fmt(e.t)}${generatorLateMs > 0 ? ` (the phone's timer fired ${Math.round(generatorLateMs)} ms late)` : ''}`);
  }

  private onRender(e: Extract<HistoryEvent, { type: 'render' }>): void {
    this.identity?.onRender(e);
    const key = `${e.p}|${e.chat}`;
    this.othersUpTo.set(key, Math.max(e.seq, this.othersUpTo.get(key) ?? 0));
    if (this.isVisible(e.p, e.chat)) this.owe(e.p, e.chat, e.seq, e.t);
  }

  private owe(p: string, chat: string, seq: number, t: number): void {
    const key = `${p}|${chat}`;
    if ((this.readSent.get(key) ?? 0) >= seq) return;
    const owed = getOr(this.owed, key, () => []);
    const last = owed[owed.length - 1];
    if (last && last.seq >= seq) return;
    // Rendered before the phone is ready (while syncing, or a push that reached the socket just
    // before the hello): no read can go out until it is, so the debounce starts then.
    owed.push({ sinceMs: t, seq, waitingReady: this.syncing.has(p) || !this.readyNow.has(p) });
  }

  private ready(p: string, t: number): void {
    this.readyNow.add(p);
    if (!this.syncing.delete(p)) return;
    for (const [key, owed] of this.owed) {
      if (!key.startsWith(`${p}|`)) continue;
      for (const o of owed) if (o.waitingReady) { o.waitingReady = false; o.sinceMs = t; }
    }
  }

  private onView(e: Extract<HistoryEvent, { type: 'view' }>): void {
    this.viewEvents++;
    const before = this.view.get(e.p);
    const visibleBefore = before?.foreground ? before.chat : undefined;
    const visibleNow = e.foreground ? e.chat : undefined;
    this.view.set(e.p, { foreground: e.foreground, chat: e.chat });
    if (visibleBefore !== undefined && visibleBefore !== visibleNow) this.dropOwed(e.p, e.t, visibleBefore);
    if (visibleNow !== undefined && visibleNow !== visibleBefore) {
      const upTo = this.othersUpTo.get(`${e.p}|${visibleNow}`) ?? 0;
      if (upTo > 0 && this.state.isConnected(e.p)) this.owe(e.p, visibleNow, upTo, e.t);
    }
  }

  private isVisible(p: string, chat: string): boolean {
    const v = this.view.get(p);
    return v !== undefined && v.foreground && v.chat === chat;
  }

  /** The chat left the screen (or the link died): a read already overdue by then is a violation. */
  private dropOwed(p: string, t: number, chat: string | undefined): void {
    for (const [key, owed] of this.owed) {
      if (chat === undefined ? !key.startsWith(`${p}|`) : key !== `${p}|${chat}`) continue;
      this.owed.delete(key);
      const oldest = owed.find((o) => !o.waitingReady);
      if (!oldest) continue;
      // The read timer had not run yet: if this phone's own timers ran late in the window (the
      // generator's event loop was busy), that much of the wait is the generator's, not the client's.
      const slackMs = this.lateSlackMs(p, oldest.sinceMs, t);
      if (slackMs > 0) this.generatorLateReads++;
      this.judgeLate(p, key.slice(p.length + 1), oldest, t - slackMs, `none went out while the chat stayed on screen (until ${fmt(t)}${slackMs > 0 ? `; the phone's timers ran up to ${Math.round(slackMs)} ms late meanwhile` : ''})`);
    }
  }

  /** The most a timer of device `p` ran late among the receipts it sent from `fromMs` to `toMs`. */
  private lateSlackMs(p: string, fromMs: number, toMs: number): number {
    let slack = 0;
    for (const [t, lateMs] of this.timerLateness.get(p) ?? []) if (t >= fromMs && t <= toMs) slack = Math.max(slack, lateMs);
    return slack;
  }

  private judgeLate(p: string, chat: string, owed: OwedRead, untilMs: number, what: string): void {
    const lateMs = untilMs - owed.sinceMs - this.settings.readDebounceMs - this.settings.tolMs;
    if (lateMs <= 0) return;
    this.b6.hit(lateMs, () => `device ${p} rendered ${chat} up to seq ${owed.seq} on screen from ${fmt(owed.sinceMs)}; a read receipt covering it was due within ${this.settings.readDebounceMs} ms, but ${what}`);
  }

  // ------------------------------------------------------------- end of run

  finish(): PropertyResult[] {
    this.rejudge(Infinity);
    for (const [key, owed] of this.owed) {
      const p = key.slice(0, key.lastIndexOf('|'));
      const oldest = owed.find((o) => !o.waitingReady);
      if (oldest) this.judgeLate(p, key.slice(p.length + 1), oldest, this.state.endMs, `none went out before the run ended at ${fmt(this.state.endMs)}`);
    }
    const byDevice = this.ownByDeviceChat();
    const [b5, b7] = this.convergence(byDevice);
    const b6Notes = [
      ...(this.viewEvents === 0 ? ['trailing-receipt part not judged: no view events (which chat was on screen) in the history'] : []),
      ...(this.generatorLateReads > 0 ? [`${this.generatorLateReads} read receipt(s) whose phone timer fired late (load generator busy) judged from when the timer was due`] : []),
    ];
    const b6Note = b6Notes.length > 0 ? b6Notes.join('; ') : undefined;
    const b4Note = this.receiptInRegressions > 0 ? `${this.receiptInRegressions} receipt frame(s) arrived below a watermark already received (ignored by the phone)` : undefined;
    return [
      this.b1.result('B1', 'ticks never go back'),
      this.facts.persisted ? this.b2.result('B2', 'sent implies persisted') : unknown('B2', 'sent implies persisted', 'needs store ground truth (what the message store holds after the run, facts.persisted: only when chatsim started the cluster, not with --target); the history only shows what phones saw'),
      this.b3.result('B3', 'delivered implies received, read implies rendered'),
      this.cumulative(byDevice).result('B4', 'cumulative receipts', b4Note),
      b5,
      this.b6.result('B6', 'read debounce bound', b6Note),
      b7,
      this.b8.result('B8', 'group ticks'),
    ];
  }

  private ownByDeviceChat(): Map<string, OwnMessage[]> {
    const out = new Map<string, OwnMessage[]>();
    for (const [key, m] of this.own) getOr(out, `${key.slice(0, key.indexOf('|'))}|${m.chat}`, () => []).push(m);
    for (const list of out.values()) list.sort((a, b) => a.seq - b.seq);
    return out;
  }

  /** B4: a tick for seq s covers every own message below s (ticked no later, unless acked later). */
  private cumulative(byDevice: Map<string, OwnMessage[]>): Finding {
    const finding = new Finding();
    for (const [key, list] of byDevice) {
      for (const kind of ['delivered', 'read'] as const) {
        const at = `${kind}AtMs` as const;
        let earliest: OwnMessage | undefined;
        for (let i = list.length - 1; i >= 0; i--) {
          const m = list[i]!;
          if (earliest && m[at] > Math.max(earliest[at], m.sentAtMs)) {
            const hi = earliest;
            finding.hit(1, () => `device ${key.slice(0, key.lastIndexOf('|'))} showed ${m.chat} seq ${hi.seq} as ${kind} at ${fmt(hi[at])}, but the earlier seq ${m.seq} (${m.clientMsgId}) ${m[at] === Infinity ? 'never' : `only at ${fmt(m[at])}`}`);
          }
          if (!earliest || m[at] < earliest[at]) earliest = m;
        }
      }
    }
    return finding;
  }

  /**
   * B5: at the end each connected sender shows what the receipts of the connected readers imply;
   * B7: the same, when only a piggybacked read receipt implied it. Only receipts sent at least
   * propagationMs before the end count: a tick needs the reader's link, the chat server and the
   * sender's link, so one implied only by a receipt sent in the last moments (a reader finishing
   * a long catch-up sync just before the run ends, seed 593768) is not owed yet.
   */
  private convergence(byDevice: Map<string, OwnMessage[]>): [PropertyResult, PropertyResult] {
    const b5 = new Finding();
    const b7 = new Finding();
    const cutoffMs = this.state.endMs - this.settings.propagationMs;
    const { implied, tooLate } = impliedReceipts(this.deviceReceipts, this.state, cutoffMs, this.identity !== undefined, this.settings.propagationMs);
    for (const [key, list] of byDevice) {
      const p = key.slice(0, key.lastIndexOf('|'));
      if (!this.state.connectedAtEnd(p)) continue;
      const sender = userOf(p);
      for (const m of list) {
        // The server's tick is the minimum effective cursor, max(cursor, joinedAtSeq), over the
        // current members but the sender (docs/protocol.md section 5): a member who joined at or
        // after the message counts as having it; one who joined before it must have receipted it.
        // A removed member stops counting only when some later cursor move recomputes the tick,
        // so one removed while still behind may hold it back: it is required too (the bound stays
        // one the server must reach), with the receipts it sent well before its removal only
        // (impliedReceipts). A sender no longer in the chat is told nothing.
        if (!this.state.isMember(m.chat, sender)) continue;
        const removed = [...(this.state.removed.get(m.chat) ?? [])].map(([u, r]) => [u, r.joinedAtSeq] as const);
        const others = [...(this.state.members.get(m.chat) ?? []), ...removed].filter(([u, joined]) => u !== sender && joined < m.seq).map(([u]) => u);
        if (others.length === 0) continue;
        const byReader = implied.get(m.chat);
        const perUser = this.identity ? new Map(others.map((u) => [u, this.identity!.impliedFor(m.chat, m.clientMsgId, m.seq, u, byReader)] as const).filter((x): x is [string, Implied] => x[1] !== undefined)) : byReader;
        const all = (f: (r: { delivered: number; read: number; readStandalone: number }) => number): boolean => others.every((u) => (perUser?.get(u) ? f(perUser.get(u)!) : 0) >= m.seq);
        const want = all((r) => r.read) ? 'read' : all((r) => r.delivered) ? 'delivered' : 'sent';
        if (RANK[m.last] >= RANK[want]) continue;
        // Name the member whose receipt completed the set (the latest of the kind wanted).
        const last = others.map((u) => perUser?.get(u)).filter((r): r is Implied => r !== undefined)
          .map((r) => (want === 'read' ? { by: r.readBy, upTo: r.read, at: r.readAtMs } : { by: r.deliveredBy, upTo: r.delivered, at: r.deliveredAtMs }))
          .reduce<{ by: string; upTo: number; at: number } | undefined>((a, b) => (a === undefined || b.at > a.at ? b : a), undefined);
        const viaPiggyback = want === 'read' && !all((r) => r.readStandalone);
        const text = (): string => `device ${p} still shows ${m.chat} seq ${m.seq} (${m.clientMsgId}) as ${m.last} at the end, though ${others.length > 1 ? `every other member sent ${want} receipts covering it, the last ` : ''}${last ? `${last.by} sent a ${want} receipt up to ${last.upTo} at ${fmt(last.at)}` : `every other member sent ${want} receipts covering it`}${viaPiggyback ? ' (carried on a typing frame)' : ''}`;
        (viaPiggyback ? b7 : b5).hit(RANK[want] - RANK[m.last], text);
      }
    }
    const note = tooLate > 0 ? `${tooLate} receipt(s) sent in the last ${this.settings.propagationMs} ms of the run (propagationMs) not required to show at their senders yet` : undefined;
    return [b5.result('B5', 'receipts converge', note), b7.result('B7', 'piggyback equivalence', note)];
  }
}
