// The user holding the phone: when the app is open, which chat is on screen, when they type
// and send. Every choice comes from the phone's seeded random, so a run replays exactly.
import type { TimeSource, TimerHandle } from '../../server/ports/Clock.ts';
import type { Random } from '../../server/ports/Random.ts';
import type { Phone } from './Phone.ts';

export interface BehaviourProfile {
  /** Mean send rate; gaps are exponential (a Poisson process). */
  messagesPerMinute: number;
  /** Share of the time the app is in the foreground (reading), 0..1. */
  foregroundShare: number;
  /** Share of sends preceded by typing, 0..1. */
  typingShare: number;
  /** Body length in bytes (ASCII), inclusive range. */
  bodyBytes: { min: number; max: number };
}

export interface BehaviourOptions {
  /** Mean length of a foreground + background cycle; sessions switch every tens of seconds. */
  sessionCycleMeanMs: number;
  /** Typing lasts this long before the send, uniform in [min, max]. */
  typingMs: { min: number; max: number };
  /** Chance that a send in the foreground goes to another chat (which the user opens). */
  switchChatShare: number;
}

export const DEFAULT_BEHAVIOUR_OPTIONS: Readonly<BehaviourOptions> = Object.freeze({
  sessionCycleMeanMs: 60_000,
  typingMs: { min: 1_000, max: 4_000 },
  switchChatShare: 0.3,
});

const BODY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?';

export class PhoneBehaviour {
  private readonly options: BehaviourOptions;
  private readonly timers = new Set<TimerHandle>();
  private running = false;
  private foreground = false;
  /** Scenario event hot-chat: until untilMs, a send goes to `chat` with probability share (if the phone lists it). */
  private hot: { chat: string; share: number; untilMs: number } | undefined;

  constructor(
    private readonly phone: Phone,
    private readonly profile: BehaviourProfile,
    private readonly time: TimeSource,
    private readonly random: Random,
    options: Partial<BehaviourOptions> = {},
  ) {
    this.options = { ...DEFAULT_BEHAVIOUR_OPTIONS, ...options };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.enterSession(this.random.nextFloat() < this.profile.foregroundShare);
    this.scheduleNextSend();
  }

  /** Stops all activity (the phone keeps receiving and acking until it is stopped itself). */
  stop(): void {
    this.running = false;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  /** Scenario event hot-chat: for forMs this user's sends favour one chat. */
  setHotChat(chat: string, share: number, forMs: number): void {
    this.hot = { chat, share, untilMs: this.time.nowMs() + forMs };
  }

  /** Scenario event burst: `messages` sends at uniform times within withinMs (on top of the steady load). */
  burst(messages: number, withinMs: number): void {
    if (!this.running) return;
    for (let i = 0; i < messages; i++) this.schedule(this.random.nextFloat() * withinMs, () => this.sendOne(false));
  }

  private schedule(delayMs: number, fn: () => void): void {
    const handle = this.time.schedule(delayMs, () => {
      this.timers.delete(handle);
      if (this.running) fn();
    });
    this.timers.add(handle);
  }

  /** Alternates foreground and background; the mean durations give `foregroundShare`. */
  private enterSession(foreground: boolean): void {
    const share = clamp01(this.profile.foregroundShare);
    if (share >= 1) foreground = true;
    if (share <= 0) foreground = false;
    this.foreground = foreground;
    this.phone.setForeground(foreground);
    if (foreground) {
      this.openRandomChat();
      this.phone.queryPresence();
    }
    if (share <= 0 || share >= 1) return; // never switches
    const meanMs = this.options.sessionCycleMeanMs * (foreground ? share : 1 - share);
    this.schedule(this.exponentialMs(meanMs), () => this.enterSession(!foreground));
  }

  private scheduleNextSend(): void {
    if (this.profile.messagesPerMinute <= 0) return;
    this.schedule(this.exponentialMs(60_000 / this.profile.messagesPerMinute), () => {
      this.sendOne();
      this.scheduleNextSend();
    });
  }

  /** In the foreground the user writes in the open chat (or opens another); in the background they reply from a notification. */
  private sendOne(mayType = true): void {
    const chat = this.chooseChat();
    if (chat === undefined) return;
    const body = this.randomBody();
    if (!mayType || this.random.nextFloat() >= this.profile.typingShare) {
      this.phone.send(chat, body);
      return;
    }
    this.phone.typing(chat);
    const { min, max } = this.options.typingMs;
    this.schedule(min + this.random.nextFloat() * Math.max(0, max - min), () => this.phone.send(chat, body));
  }

  private chooseChat(): string | undefined {
    const hot = this.hotChat();
    if (hot !== undefined) {
      if (this.foreground) this.phone.openChat(hot);
      return hot;
    }
    const open = this.phone.state().openChat;
    if (this.foreground && open !== undefined && this.random.nextFloat() >= this.options.switchChatShare) return open;
    const chat = this.randomChat();
    if (this.foreground && chat !== undefined) this.phone.openChat(chat);
    return chat;
  }

  /** The hot chat for this send, drawn only while one is set (so runs without one draw as before). */
  private hotChat(): string | undefined {
    const hot = this.hot;
    if (!hot) return undefined;
    if (this.time.nowMs() >= hot.untilMs) {
      this.hot = undefined;
      return undefined;
    }
    if (!this.phone.chats().some((c) => c.id === hot.chat)) return undefined;
    return this.random.nextFloat() < hot.share ? hot.chat : undefined;
  }

  private openRandomChat(): void {
    const chat = this.randomChat();
    if (chat !== undefined) this.phone.openChat(chat);
  }

  private randomChat(): string | undefined {
    const chats = this.phone.chats();
    if (chats.length === 0) return undefined;
    return chats[this.random.nextInt(chats.length)]!.id;
  }

  private randomBody(): string {
    const { min, max } = this.profile.bodyBytes;
    const length = Math.max(1, min + this.random.nextInt(Math.max(1, max - min + 1)));
    let body = '';
    for (let i = 0; i < length; i++) body += BODY_ALPHABET[this.random.nextInt(BODY_ALPHABET.length)];
    return body;
  }

  /** Exponential with the given mean; 1 - u avoids log(0). */
  private exponentialMs(meanMs: number): number {
    return -Math.log(1 - this.random.nextFloat()) * meanMs;
  }
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
