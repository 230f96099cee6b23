import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { FanOutTracker } from '../metrics/fanOut.ts';
import { HdrStats } from '../metrics/hdrStats.ts';
import { Finding, fmt, getOr, settingsOf, userOf, type CheckFacts, type Family, type Settings } from './common.ts';
import type { PropertyResult } from './PropertyResult.ts';
import type { RunState, SendRecord } from './runState.ts';

type Render = Extract<HistoryEvent, { type: 'render' }>;

/**
 * How long after a removal was answered what the server sent before it may still reach the
 * removed user's device (a typing notice or receipt held by a stalled link or a paused gateway,
 * a sync that listed the chat just before): longer than any link stall or fault window drawn.
 */
const REMOVAL_IN_FLIGHT_MS = 30_000;

/** What is known of one (chat, seq): who first claimed it, and how its renders went. */
interface MessageInfo {
  from: string;
  clientMsgId: string;
  firstP: string;
  firstAtMs: number;
}

/** The causal floor a send must land above: what its device had acked and seen in that chat. */
interface Floor {
  ackedSeq: number;
  ackedId: string;
  ackedAtMs: number;
  seenSeq: number;
  seenAtMs: number;
}

/**
 * A1–A11, the message log: one pass keeps per (chat, seq) identity, per device what it rendered,
 * and per device and chat the causal floor; the liveness parts (A5, A6, A11) run at the end
 * over the acknowledged sends.
 */
export class MessageLogFamily implements Family {
  private readonly messages = new Map<string, MessageInfo>();
  /** device -> "chat#seq" rendered (A4, A5, A6). */
  private readonly rendered = new Map<string, Set<string>>();
  /** chat|user|clientMsgId -> the seq it got (A4: one client id, one server message). */
  private readonly seqOfSend = new Map<string, { seq: number; p: string; t: number }>();
  private readonly lastRender = new Map<string, { seq: number; t: number }>();
  private readonly floors = new Map<string, Floor>();
  private readonly pendingFloors = new Map<string, Floor>();
  private readonly renderedWithoutSend: Render[] = [];
  private readonly fanOutTracker = new FanOutTracker();
  private readonly a1 = new Finding();
  private readonly a2 = new Finding();
  private readonly a3 = new Finding();
  private readonly a4 = new Finding();
  private readonly a8 = new Finding();
  private readonly a9 = new Finding();
  private readonly a10 = new Finding();
  private a3Checked = 0;
  private a10Unjudged = new Set<string>();

  constructor(private readonly state: RunState, private readonly facts: CheckFacts, private readonly settings: Settings = settingsOf(facts)) {}

  observe(e: HistoryEvent): void {
    switch (e.type) {
      case 'render': return this.onRender(e);
      case 'invoke': if (e.op === 'send') this.pendingFloors.set(`${e.p}|${e.clientMsgId}`, { ...this.floorOf(e.p, e.chat) }); return;
      case 'ok':
        if (e.op === 'send') return this.onAck(e);
        if (e.op === 'sync') return this.onSyncDone(e);
        return;
      case 'typing-seen': return this.leak(e.p, e.chat, e.t, `typing of ${e.user}`, e.user);
      // A receipt on a removed user's own messages is theirs (a token sync replays ticks up to the removal).
      case 'receipt-in': return this.state.wasRemoved(e.chat, userOf(e.p)) ? undefined : this.leak(e.p, e.chat, e.t, `a ${e.kind} receipt from ${e.user}`);
      case 'presence-seen': return this.presenceLeak(e);
      default: return;
    }
  }

  private floorOf(p: string, chat: string): Floor {
    return getOr(this.floors, `${p}|${chat}`, () => ({ ackedSeq: 0, ackedId: '', ackedAtMs: 0, seenSeq: 0, seenAtMs: 0 }));
  }

  private onRender(e: Render): void {
    this.identity(e.chat, e.seq, e.from, e.clientMsgId, e.p, e.t);
    this.sameSeqForSend(e.chat, e.from, e.clientMsgId, e.seq, e.p, e.t);
    const key = `${e.chat}#${e.seq}`;
    const seen = getOr(this.rendered, e.p, () => new Set());
    if (seen.has(key)) this.a4.hit(1, () => `device ${e.p} rendered ${e.chat} seq ${e.seq} twice (again at ${fmt(e.t)} via ${e.via})`);
    seen.add(key);
    this.fanOutTracker.onRender(e);
    const order = `${e.p}|${e.chat}`;
    const last = this.lastRender.get(order);
    if (last && e.seq < last.seq) this.a2.hit(last.seq - e.seq, () => `device ${e.p} rendered ${e.chat} seq ${last.seq} at ${fmt(last.t)} and then seq ${e.seq} at ${fmt(e.t)}: its timeline went back`);
    if (!last || e.seq > last.seq) this.lastRender.set(order, { seq: e.seq, t: e.t });
    const floor = this.floorOf(e.p, e.chat);
    if (e.seq > floor.seenSeq) { floor.seenSeq = e.seq; floor.seenAtMs = e.t; }
    if (!this.state.sendOf(e.chat, e.from, e.clientMsgId)) this.renderedWithoutSend.push(e);
    this.leak(e.p, e.chat, e.t, `message seq ${e.seq} from ${e.from}`, undefined, e);
  }

  private onAck(e: Extract<HistoryEvent, { type: 'ok'; op: 'send' }>): void {
    const user = userOf(e.p);
    this.identity(e.chat, e.seq, user, e.clientMsgId, e.p, e.t);
    this.sameSeqForSend(e.chat, user, e.clientMsgId, e.seq, e.p, e.t);
    const floor = this.pendingFloors.get(`${e.p}|${e.clientMsgId}`);
    if (floor) this.causalOrder(e, floor);
    const now = this.floorOf(e.p, e.chat);
    if (e.seq > now.ackedSeq) { now.ackedSeq = e.seq; now.ackedId = e.clientMsgId; now.ackedAtMs = e.t; }
  }

  /** A8 / A9: a send invoked after an earlier one was acked (or after a message was seen) lands above it. */
  private causalOrder(e: Extract<HistoryEvent, { type: 'ok'; op: 'send' }>, floor: Floor): void {
    if (e.seq <= floor.ackedSeq) {
      this.a8.hit(floor.ackedSeq - e.seq, () => `device ${e.p} sent ${e.clientMsgId} in ${e.chat} after ${floor.ackedId} was acknowledged as seq ${floor.ackedSeq} (at ${fmt(floor.ackedAtMs)}), yet it got seq ${e.seq} at ${fmt(e.t)}`);
    } else if (e.seq <= floor.seenSeq) {
      this.a9.hit(floor.seenSeq - e.seq, () => `device ${e.p} sent ${e.clientMsgId} in ${e.chat} after it had rendered seq ${floor.seenSeq} (at ${fmt(floor.seenAtMs)}), yet it got seq ${e.seq} at ${fmt(e.t)}`);
    }
  }

  /** A1: one (chat, seq) always names the same sender and client id. */
  private identity(chat: string, seq: number, from: string, clientMsgId: string, p: string, t: number): void {
    const key = `${chat}#${seq}`;
    const info = this.messages.get(key);
    if (!info) {
      this.messages.set(key, { from, clientMsgId, firstP: p, firstAtMs: t });
      return;
    }
    if (info.from === from && info.clientMsgId === clientMsgId) return;
    this.a1.hit(1, () => `${chat} seq ${seq} was ${info.clientMsgId} from ${info.from} on ${info.firstP} at ${fmt(info.firstAtMs)} but ${clientMsgId} from ${from} on ${p} at ${fmt(t)}`);
  }

  /** A4: a retried client message id maps to one server message. */
  private sameSeqForSend(chat: string, from: string, clientMsgId: string, seq: number, p: string, t: number): void {
    const key = `${chat}|${from}|${clientMsgId}`;
    const known = this.seqOfSend.get(key);
    if (!known) {
      this.seqOfSend.set(key, { seq, p, t });
      return;
    }
    if (known.seq !== seq) this.a4.hit(2, () => `client message ${clientMsgId} from ${from} in ${chat} became two server messages: seq ${known.seq} (on ${known.p} at ${fmt(known.t)}) and seq ${seq} (on ${p} at ${fmt(t)})`);
  }

  /** A3: after a complete sync, the device holds the chat up to the head the server reported. */
  private onSyncDone(e: Extract<HistoryEvent, { type: 'ok'; op: 'sync' }>): void {
    for (const c of e.chats ?? []) {
      if (c.hasMore) continue;
      this.a3Checked++;
      const held = this.state.heldUpTo(e.p, c.chat);
      if (held >= c.head) continue;
      const missing = this.messages.get(`${c.chat}#${held + 1}`);
      const whose = missing ? ` (${missing.clientMsgId} from ${missing.from}, first seen on ${missing.firstP} at ${fmt(missing.firstAtMs)})` : '';
      this.a3.hit(c.head - held, () => `device ${e.p} completed sync ${e.id} at ${fmt(e.t)} with ${c.chat} head ${c.head}, but holds ${c.chat} only up to seq ${held}: seq ${held + 1}${whose} is missing`);
    }
  }

  /** A10 (messages, receipts, typing): only members of a chat see anything of it. */
  private leak(p: string, chat: string, t: number, what: string, typer?: string, render?: Render): void {
    const members = this.state.members.get(chat);
    const user = userOf(p);
    const removed = this.state.removedFrom(chat, user);
    if ((!members || members.size === 0) && !removed) {
      this.a10Unjudged.add(chat);
      return;
    }
    if (removed) {
      // A user removed from a chat (leave-group, kick-member) may still get what was under way
      // or stored before: a message pushed that the server stored (and took the roster for)
      // before the removal was answered; a message a sync reads that was stored before it (a
      // token sync copies the chat up to the removal, whenever it runs; a watermark sync that
      // listed the chat just before reads on for up to REMOVAL_IN_FLIGHT_MS on a slow store); a
      // typing notice sent before it (held by a stalled link or a paused gateway). Anything
      // later is a leak. The store time is the chat server's wall clock, as far off as the
      // scenario's chat-server clocks may be (seed 47: a 500 ms skew stamped a message 0.4 s
      // after the removal it preceded).
      const inFlight = render?.storedAt !== undefined
        ? render.storedAt <= removed.doneAtMs + this.settings.serverClockOffsetMaxMs + (render.via === 'push' ? this.settings.tolMs : REMOVAL_IN_FLIGHT_MS)
        : t <= removed.doneAtMs + REMOVAL_IN_FLIGHT_MS;
      if (!inFlight) this.a10.hit(2, () => `device ${p} (user ${user}, removed from ${chat} at ${fmt(removed.doneAtMs)}) saw ${what} in ${chat} at ${fmt(t)}${render?.storedAt !== undefined ? `, stored at ${fmt(render.storedAt)}` : ''}`);
      return;
    }
    if (!members!.has(user)) this.a10.hit(2, () => `device ${p} (user ${user}, not a member of ${chat}) saw ${what} in ${chat} at ${fmt(t)}`);
    else if (typer !== undefined && !members!.has(typer) && !this.state.wasRemoved(chat, typer)) this.a10.hit(1, () => `device ${p} saw ${what} in ${chat} at ${fmt(t)}, but ${typer} is not a member of ${chat}`);
  }

  private presenceLeak(e: Extract<HistoryEvent, { type: 'presence-seen' }>): void {
    const friends = this.facts.friendsOfUser;
    if (!friends) return;
    const viewer = userOf(e.p);
    if (viewer === e.user || friends.get(e.user)?.includes(viewer) || friends.get(viewer)?.includes(e.user)) return;
    this.a10.hit(1, () => `device ${e.p} saw the presence of ${e.user} (${e.online ? 'online' : 'offline'}) at ${fmt(e.t)}, but ${viewer} is not a friend of ${e.user}`);
  }

  finish(): PropertyResult[] {
    const a5 = this.delivery('ok');
    const a6 = this.delivery('info');
    return [
      this.a1.result('A1', 'one order per chat'),
      this.a2.result('A2', 'monotone timeline'),
      this.a3Checked === 0 ? { ...this.a3.result('A3', 'no gaps after sync'), verdict: 'unknown', reason: 'no completed sync recorded its per-chat heads (ok sync without `chats`): the phone predates head recording' } : this.a3.result('A3', 'no gaps after sync'),
      this.a4.result('A4', 'no duplicates'),
      a5,
      a6,
      this.phantoms(),
      this.a8.result('A8', 'per-sender order'),
      this.a9.result('A9', 'causal order'),
      this.leakResult(),
      this.fanOut(),
    ];
  }

  /**
   * A5 (acknowledged sends) and A6 (unknown sends): which member devices, connected at the end,
   * rendered the message. An ok send missing anywhere is lost; an info send must be everywhere or nowhere.
   */
  private delivery(outcome: 'ok' | 'info'): PropertyResult {
    const finding = new Finding();
    const absent = new Set<string>();
    let checked = 0;
    for (const send of this.state.sends.values()) {
      if (send.outcome !== outcome) continue;
      const seq = outcome === 'ok' ? send.seq : this.seqOfSend.get(`${send.chat}|${userOf(send.p)}|${send.clientMsgId}`)?.seq;
      checked++;
      const missing: string[] = [];
      let owed = 0;
      for (const member of seq === undefined ? this.state.membersAt(send.chat, Infinity) : this.state.membersAt(send.chat, seq)) {
        for (const device of this.state.devicesOf(member)) {
          if (device === send.p) continue;
          if (!this.state.connectedAtEnd(device)) { absent.add(device); continue; }
          owed++;
          if (seq === undefined || !this.rendered.get(device)?.has(`${send.chat}#${seq}`)) missing.push(device);
        }
      }
      if (outcome === 'ok') this.lost(finding, send, missing);
      else if (missing.length > 0 && missing.length < owed) this.halfVisible(finding, send, seq!, missing, owed);
    }
    const id = outcome === 'ok' ? 'A5' : 'A6';
    const name = outcome === 'ok' ? 'no lost acknowledged message' : 'unknown sends resolve consistently';
    const notes: string[] = [];
    if (outcome === 'info') notes.push(`${checked} send(s) ended info`);
    if (absent.size > 0) notes.push(`${absent.size} device(s) not connected at the end of the run were not checked (never started, or still offline after the heal)`);
    return finding.result(id, name, notes.length > 0 ? notes.join('; ') : undefined);
  }

  private lost(finding: Finding, send: SendRecord, missing: string[]): void {
    for (const device of missing) {
      finding.hit(1 + this.state.heldUpTo(device, send.chat) - send.seq, () => {
        const held = this.state.heldUpTo(device, send.chat);
        const behind = held > send.seq ? `rendered ${send.chat} up to seq ${held} but never seq ${send.seq}` : `holds ${send.chat} up to seq ${held}`;
        return `${send.chat} seq ${send.seq} (${send.clientMsgId}) was acknowledged to ${send.p} at ${fmt(send.completedAtMs)} and never rendered on ${device}; that device ${behind}${held > send.seq ? ' (a lost write, not slowness)' : ''}`;
      });
    }
  }

  private halfVisible(finding: Finding, send: SendRecord, seq: number, missing: string[], owed: number): void {
    finding.hit(owed - missing.length, () => `send ${send.clientMsgId} from ${send.p} in ${send.chat} ended info at ${fmt(send.completedAtMs)}; it became seq ${seq} and was rendered on ${owed - missing.length} of ${owed} member devices, never on ${missing.slice(0, 3).join(', ')}`);
  }

  /** A7: every rendered message traces back to a send of this run (or was stored before it began); failed sends never appear. */
  private phantoms(): PropertyResult {
    const finding = new Finding();
    let preRun = 0;
    for (const e of this.renderedWithoutSend) {
      if (this.state.sendOf(e.chat, e.from, e.clientMsgId)) continue;
      if (e.storedAt !== undefined && e.storedAt < 0) { preRun++; continue; }
      finding.hit(1, () => `device ${e.p} rendered ${e.chat} seq ${e.seq} (${e.clientMsgId} from ${e.from}) at ${fmt(e.t)}, but no device ever sent it`);
    }
    for (const send of this.state.sends.values()) {
      if (send.outcome !== 'fail') continue;
      const got = this.seqOfSend.get(`${send.chat}|${userOf(send.p)}|${send.clientMsgId}`);
      if (got) finding.hit(2, () => `send ${send.clientMsgId} from ${send.p} in ${send.chat} failed at ${fmt(send.completedAtMs)}, yet it exists as seq ${got.seq} (seen on ${got.p} at ${fmt(got.t)})`);
    }
    return finding.result('A7', 'no phantoms', preRun > 0 ? `${preRun} render(s) of messages stored before the run began were not traced` : undefined);
  }

  private leakResult(): PropertyResult {
    const notes: string[] = [];
    if (!this.facts.friendsOfUser) notes.push('presence not judged: the facts carry no friend lists (friendsOfUser)');
    if (this.a10Unjudged.size > 0) notes.push(`${this.a10Unjudged.size} chat(s) without membership facts not judged`);
    if (this.state.members.size === 0) return { ...this.a10.result('A10', 'no leakage'), verdict: 'unknown', reason: 'no chat membership facts (RunFacts.chatMembers / oracle member events)' };
    return this.a10.result('A10', 'no leakage', notes.length > 0 ? notes.join('; ') : undefined);
  }

  /**
   * A11 (metric): per message, from the server storing it to its last render by push
   * (FanOutTracker), with percentiles from the HDR engine (HdrStats): the same samples and the
   * same engine as the run's fanOut histogram, so both give the same p99.
   */
  private fanOut(): PropertyResult {
    const samples = [...this.fanOutTracker.samples()].sort((a, b) => a.ms - b.ms);
    const stats = HdrStats.of(samples.map((s) => s.ms));
    const gate = this.facts.fanOutGateMs;
    const over = gate === undefined ? 0 : samples.filter((s) => s.ms > gate).length;
    const worst = samples.slice(-3).reverse().map((s) => `${s.chat} seq ${s.seq} stored at ${fmt(s.storedAt)} reached its last device ${s.lastP} at ${fmt(s.lastT)} (${Math.round(s.ms)} ms, ${s.pushes} push renders)`);
    const at = (p: number): string => String(stats.percentile(p) ?? '-');
    const reason = `fan-out ms over ${samples.length} message(s): p50 ${at(50)}, p99 ${at(99)}, max ${at(100)}${gate === undefined ? ' (metric, no gate)' : `; ${over} over the ${gate} ms gate`}`;
    return { id: 'A11', name: 'fan-out latency (metric)', verdict: over > 0 ? 'fail' : 'pass', violations: over, examples: worst, reason };
  }
}
