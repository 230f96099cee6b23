import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { FanOutTracker } from './fanOut.ts';
import type { RunPhase } from '../types/runTypes.ts';

/**
 * Tags a latency sample carries, k6 style, so a threshold or a chart can judge one slice of a
 * run (`sendToAck{connected:true}`, `sendToDelivered{profile:good-4g}`):
 *
 * - `profile`: the network profile of the device the sample is about (the sender for
 *   sendToAck and sendToRead, the recipient for sendToDelivered);
 * - `chat`: `direct` or `group`; `size`: the chat's member count class (`2`, `3-10`, `11-100`, `101+`);
 * - `gateway`: the gateway that device was last connected to (`none` before its first connection);
 * - `phase`: `ramp`, `load`, `fault` (inside a fault window) or `heal`, when the clock started;
 * - `connected`: `true` when that device had a working link and a session when the clock
 *   started (the harness's link truth and the phone's own connect/disconnect), else `false`:
 *   a send typed in a tunnel waits for the tunnel, which says nothing of the server.
 *
 * fanOut samples are about a message, not a device: they carry `chat`, `size` and `phase`.
 */
export type TagName = 'profile' | 'chat' | 'size' | 'gateway' | 'phase' | 'connected';
export const TAG_NAMES: readonly TagName[] = ['profile', 'chat', 'size', 'gateway', 'phase', 'connected'];
export type Tags = Partial<Record<TagName, string>>;

export type TaggedMetric = 'sendToAck' | 'sendToDelivered' | 'sendToRead' | 'fanOut';
export const TAGGED_METRICS: readonly TaggedMetric[] = ['sendToAck', 'sendToDelivered', 'sendToRead', 'fanOut'];

export interface TaggedSample {
  metric: TaggedMetric;
  /** ms. */
  value: number;
  /** When the sample completed, ms since t = 0 (its second on the time series). */
  atMs: number;
  tags: Tags;
}

export interface TagContext {
  /** device ("u1/d1") -> network profile name. */
  profileOfDevice?: ReadonlyMap<string, string>;
  chatMembers: ReadonlyMap<string, readonly string[]>;
  phases: readonly RunPhase[];
  faults: ReadonlyArray<{ startMs: number; endMs: number }>;
}

interface DeviceState {
  linkUp: boolean;
  session: boolean;
  gateway: string;
}

/** A device's state over time: each change appended in time order, looked up by binary search. */
class DeviceTimeline {
  private readonly times: number[] = [];
  private readonly states: DeviceState[] = [];

  change(t: number, patch: Partial<DeviceState>): void {
    const next = { ...this.at(t), ...patch };
    this.times.push(t);
    this.states.push(next);
  }

  /** The state in force at t (changes at t included); a device never seen is up, with no session. */
  at(t: number): DeviceState {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? { linkUp: true, session: false, gateway: 'none' } : this.states[lo - 1]!;
  }
}

/** The tagged samples of a run, in one pass over its (time-ordered) history. */
export function taggedSamples(events: Iterable<HistoryEvent>, context: TagContext): TaggedSample[] {
  const timelines = new Map<string, DeviceTimeline>();
  const timelineOf = (device: string): DeviceTimeline => {
    let timeline = timelines.get(device);
    if (!timeline) timelines.set(device, timeline = new DeviceTimeline());
    return timeline;
  };
  const deviceTags = (device: string, chat: string, t: number): Tags => {
    const state = timelineOf(device).at(t);
    return {
      profile: context.profileOfDevice?.get(device) ?? 'unknown', ...chatTags(chat, context), gateway: state.gateway,
      phase: phaseAt(t, context), connected: String(state.linkUp && state.session),
    };
  };
  /** device|clientMsgId -> when it was sent and the sender's tags then. */
  const sends = new Map<string, { t: number; tags: Tags; acked: boolean; read: boolean }>();
  /** user|clientMsgId -> when it was sent (a recipient renders it by its sender's user). */
  const sentAt = new Map<string, number>();
  const fanOut = new FanOutTracker();
  const samples: TaggedSample[] = [];
  for (const e of events) {
    if (e.type === 'oracle') {
      if (e.what === 'link-up' || e.what === 'link-down') timelineOf(e.device).change(e.t, { linkUp: e.what === 'link-up' });
      continue;
    }
    switch (e.type) {
      case 'connect': timelineOf(e.p).change(e.t, { session: true, gateway: e.gateway }); break;
      case 'disconnect': timelineOf(e.p).change(e.t, { session: false }); break;
      case 'invoke':
        if (e.op === 'send') {
          sends.set(`${e.p}|${e.clientMsgId}`, { t: e.t, tags: deviceTags(e.p, e.chat, e.t), acked: false, read: false });
          sentAt.set(`${userOf(e.p)}|${e.clientMsgId}`, e.t);
        }
        break;
      case 'ok': {
        const send = e.op === 'send' ? sends.get(`${e.p}|${e.clientMsgId}`) : undefined;
        if (send && !send.acked) {
          send.acked = true;
          samples.push({ metric: 'sendToAck', value: Math.max(0, e.t - send.t), atMs: e.t, tags: send.tags });
        }
        break;
      }
      case 'render': {
        const t = sentAt.get(`${e.from}|${e.clientMsgId}`);
        // The recipient's tags as they stood when the message was sent.
        if (t !== undefined) samples.push({ metric: 'sendToDelivered', value: Math.max(0, e.t - t), atMs: e.t, tags: deviceTags(e.p, e.chat, t) });
        fanOut.onRender(e);
        break;
      }
      case 'tick': {
        const send = e.tick === 'read' ? sends.get(`${e.p}|${e.clientMsgId}`) : undefined;
        if (send && !send.read) {
          send.read = true;
          samples.push({ metric: 'sendToRead', value: Math.max(0, e.t - send.t), atMs: e.t, tags: send.tags });
        }
        break;
      }
      default: break;
    }
  }
  for (const { storedAt, lastT, chat, ms } of fanOut.samples()) {
    samples.push({ metric: 'fanOut', value: ms, atMs: lastT, tags: { ...chatTags(chat, context), phase: phaseAt(storedAt, context) } });
  }
  return samples;
}

function chatTags(chat: string, context: TagContext): Tags {
  const members = context.chatMembers.get(chat)?.length ?? (chat.startsWith('d:') ? 2 : 0);
  return { chat: chat.startsWith('d:') ? 'direct' : 'group', size: sizeClass(members) };
}

export function sizeClass(members: number): string {
  if (members <= 2) return '2';
  if (members <= 10) return '3-10';
  if (members <= 100) return '11-100';
  return '101+';
}

function phaseAt(t: number, context: TagContext): string {
  if (context.faults.some((f) => t >= f.startMs && t <= f.endMs)) return 'fault';
  const phase = context.phases.find((p) => t >= p.startMs && t < p.endMs);
  return phase?.name ?? (context.phases.length > 0 && t >= context.phases.at(-1)!.endMs ? 'heal' : 'load');
}

function userOf(p: string): string {
  const slash = p.indexOf('/');
  return slash < 0 ? p : p.slice(0, slash);
}
