import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { getOr, userOf, type CheckFacts } from './common.ts';

/** One send as the history tells it: invoke, then its completion (if any). */
export interface SendRecord {
  p: string;
  chat: string;
  clientMsgId: string;
  body: string;
  invokedAtMs: number;
  outcome: 'ok' | 'fail' | 'info' | undefined;
  seq: number;
  completedAtMs: number;
}

/** The device's contiguous holding of one chat: every seq up to `contig` is on the device. */
interface Holding {
  contig: number;
  above: Set<number> | undefined;
}

/**
 * Ground truth and bookkeeping every family reads while it observes the same event: who is a
 * member, which devices are connected right now, what each device holds, every send. Updated
 * first for each event, so a family sees the state including the event it is looking at.
 */
export class RunState {
  /** chat -> user -> joinedAtSeq (0: a member from the start). */
  readonly members = new Map<string, Map<string, number>>();
  /** chat -> user -> when the server answered the user's removal (leave or kick), and the joinedAtSeq they had. */
  readonly removed = new Map<string, Map<string, { atMs: number; doneAtMs: number; joinedAtSeq: number }>>();
  /** user -> its devices as processes (`user/device`). */
  readonly devicesOfUser = new Map<string, string[]>();
  /** Phone's own view: a hello was received and the link not yet closed. */
  readonly phoneUp = new Map<string, boolean>();
  /** Oracle: the network link of the device is down. */
  readonly linkDown = new Set<string>();
  readonly sends = new Map<string, SendRecord>();
  readonly activeFaults = new Map<string, number>();
  private readonly holdings = new Map<string, Holding>();
  phaseAtMs = new Map<string, number>();
  endMs = 0;
  /** device -> the last close it recorded, until it connects again. */
  private readonly lastClose = new Map<string, { code: number; atMs: number }>();
  /** device -> when it last dialled a gateway (oracle link-dial). */
  private readonly lastDialMs = new Map<string, number>();

  constructor(facts: CheckFacts) {
    for (const [chat, users] of facts.chatMembers) {
      const m = getOr(this.members, chat, () => new Map<string, number>());
      for (const user of users) m.set(user, 0);
    }
    for (const [user, devices] of facts.devicesOfUser) this.devicesOfUser.set(user, devices.map((d) => `${user}/${d}`));
  }

  observe(e: HistoryEvent): void {
    if (e.t > this.endMs) this.endMs = e.t;
    switch (e.type) {
      case 'connect': this.phoneUp.set(e.p, true); this.lastClose.delete(e.p); this.noteDevice(e.p); return;
      case 'disconnect': this.phoneUp.set(e.p, false); this.lastClose.set(e.p, { code: e.code, atMs: e.t }); return;
      case 'invoke':
        if (e.op === 'send') this.sends.set(sendKey(e.chat, userOf(e.p), e.clientMsgId), { p: e.p, chat: e.chat, clientMsgId: e.clientMsgId, body: e.body, invokedAtMs: e.t, outcome: undefined, seq: 0, completedAtMs: 0 });
        return;
      case 'ok':
      case 'fail':
      case 'info':
        if (e.op === 'send') this.complete(e);
        return;
      case 'render': this.hold(e.p, e.chat, e.seq); return;
      case 'oracle': this.observeOracle(e); return;
      default: return;
    }
  }

  private complete(e: Extract<HistoryEvent, { op: 'send'; type: 'ok' | 'fail' | 'info' }>): void {
    const send = this.sends.get(sendKey(e.chat, userOf(e.p), e.clientMsgId));
    if (!send) return;
    if (send.outcome === undefined || (send.outcome === 'info' && e.type === 'ok')) {
      // NOT_MEMBER after the sender left the chat: an earlier attempt may have been stored
      // while it was still a member (the refusal is of the retry), so its fate is unknown.
      send.outcome = e.type === 'fail' && e.code === 'NOT_MEMBER' && this.wasRemoved(e.chat, userOf(e.p)) ? 'info' : e.type;
      send.completedAtMs = e.t;
    }
    if (e.type === 'ok') {
      send.seq = e.seq;
      this.hold(e.p, e.chat, e.seq);
    }
  }

  private observeOracle(e: Extract<HistoryEvent, { type: 'oracle' }>): void {
    if (e.what === 'member') {
      getOr(this.members, e.chat, () => new Map()).set(e.user, e.joinedAtSeq);
      if (this.removed.get(e.chat)?.delete(e.user)) this.rejoined(e.chat, e.user, e.joinedAtSeq);
    } else if (e.what === 'member-removed') {
      const joinedAtSeq = this.members.get(e.chat)?.get(e.user) ?? 0;
      this.members.get(e.chat)?.delete(e.user);
      getOr(this.removed, e.chat, () => new Map()).set(e.user, { atMs: e.t, doneAtMs: e.doneAtMs, joinedAtSeq });
    }
    else if (e.what === 'link-dial') this.lastDialMs.set(e.device, e.t);
    else if (e.what === 'link-down') this.linkDown.add(e.device);
    else if (e.what === 'link-up') this.linkDown.delete(e.device);
    else if (e.what === 'fault-start') this.activeFaults.set(e.fault, (this.activeFaults.get(e.fault) ?? 0) + 1);
    else if (e.what === 'fault-end') this.activeFaults.set(e.fault, Math.max(0, (this.activeFaults.get(e.fault) ?? 0) - 1));
    else if (e.what === 'phase' && !this.phaseAtMs.has(e.phase)) this.phaseAtMs.set(e.phase, e.t);
  }

  /** A device seen in the history but absent from the facts still counts as its user's device. */
  private noteDevice(p: string): void {
    const devices = getOr(this.devicesOfUser, userOf(p), () => []);
    if (!devices.includes(p)) devices.push(p);
  }

  private hold(p: string, chat: string, seq: number): void {
    const h = getOr(this.holdings, `${p}|${chat}`, () => ({ contig: seq - 1, above: undefined }));
    if (seq <= h.contig) return;
    if (seq > h.contig + 1) {
      (h.above ??= new Set()).add(seq);
      return;
    }
    h.contig = seq;
    while (h.above?.delete(h.contig + 1)) h.contig++;
  }

  /**
   * A member added again after a removal is owed nothing at or below its new joinedAtSeq (sent
   * while it was out, or before, which membersAt no longer counts): its devices hold the chat
   * from there on, as a device of a first-time joiner holds it from its first message (swarm
   * seed 119: u1 left g:0 holding seq 1, seq 2 came while it was out, it rejoined at 2).
   */
  private rejoined(chat: string, user: string, joinedAtSeq: number): void {
    for (const [key, h] of this.holdings) {
      const bar = key.indexOf('|'); // device ids never hold '|' (the id rule)
      if (key.slice(bar + 1) !== chat || userOf(key.slice(0, bar)) !== user || h.contig >= joinedAtSeq) continue;
      h.contig = joinedAtSeq;
      for (const seq of [...(h.above ?? [])]) if (seq <= joinedAtSeq) h.above!.delete(seq);
      while (h.above?.delete(h.contig + 1)) h.contig++;
    }
  }

  /** Highest seq such that the device holds the chat contiguously up to it (0: nothing). */
  heldUpTo(p: string, chat: string): number {
    return this.holdings.get(`${p}|${chat}`)?.contig ?? 0;
  }

  /** Really connected now: the phone says so and the network link is not cut. */
  isConnected(p: string): boolean {
    return this.phoneUp.get(p) === true && !this.linkDown.has(p);
  }

  /** The close that left a device disconnected with no connect since (undefined once it reconnected). */
  closeLeftDown(p: string): { code: number; atMs: number } | undefined {
    return this.lastClose.get(p);
  }

  /** Devices left disconnected by a close that never dialled again, with its code and time. */
  devicesLeftDown(): Array<[string, { code: number; atMs: number }]> {
    return [...this.lastClose.entries()].filter(([p, close]) => this.phoneUp.get(p) !== true && !((this.lastDialMs.get(p) ?? -Infinity) > close.atMs));
  }

  /** Liveness is owed only to devices that were connected when the run ended. */
  connectedAtEnd(p: string): boolean {
    return this.phoneUp.get(p) === true;
  }

  /** Members of the chat when `seq` was assigned (joinedAtSeq below it). */
  membersAt(chat: string, seq: number): string[] {
    const out: string[] = [];
    for (const [user, joined] of this.members.get(chat) ?? []) if (joined < seq) out.push(user);
    return out;
  }

  /** The user was removed from the chat during the run (and is not back): when, or undefined. */
  removedFrom(chat: string, user: string): { atMs: number; doneAtMs: number; joinedAtSeq: number } | undefined {
    return this.removed.get(chat)?.get(user);
  }

  wasRemoved(chat: string, user: string): boolean {
    return this.removed.get(chat)?.has(user) ?? false;
  }

  isMember(chat: string, user: string): boolean {
    return this.members.get(chat)?.has(user) ?? false;
  }

  devicesOf(user: string): string[] {
    return this.devicesOfUser.get(user) ?? [];
  }

  /**
   * A fault that can make a connected device look gone: a gateway's (paused, cut off, dead) or
   * the presence store's (restarted empty: entries are back only when gateways re-register).
   */
  gatewayFaultActive(): string | undefined {
    for (const [fault, n] of this.activeFaults) if (n > 0 && PRESENCE_FAULT.test(fault)) return fault;
    return undefined;
  }

  sendOf(chat: string, user: string, clientMsgId: string): SendRecord | undefined {
    return this.sends.get(sendKey(chat, user, clientMsgId));
  }
}

export function sendKey(chat: string, user: string, clientMsgId: string): string {
  return `${chat}|${user}|${clientMsgId}`;
}

/** Fault kinds under which a connected device may be shown offline by design (see gatewayFaultActive); a target's restart drops every session. */
export const PRESENCE_FAULT = /gateway|presence-store|restart-target/;
/** Fault kinds under which the presence store loses what it recorded (entries, last disconnects). */
export const PRESENCE_STORE_FAULT = /presence-store/;
