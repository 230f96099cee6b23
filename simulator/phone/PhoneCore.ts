// What every room of the phone shares: its configuration and options, the local store, its
// timers and random, the link's phase, what is on screen, and how it records and speaks.
import type { Random } from '../../server/ports/Random.ts';
import { UNLIMITED_PAGING, type DriverSession, type PhoneIntent, type RequestPaging } from '../drivers/PhoneDriver.ts';
import type { HistoryEvent } from '../history/HistoryEvent.ts';
import { LocalStore } from './LocalStore.ts';
import type { PhoneConfig, PhonePhase } from './PhoneConfig.ts';
import { DEFAULT_PHONE_OPTIONS, type PhoneOptions } from './PhoneOptions.ts';
import { TimerBag } from './TimerBag.ts';

export type PhoneRecord = DistributiveOmit<HistoryEvent, 't' | 'p'>;

export class PhoneCore {
  readonly options: PhoneOptions;
  readonly store: LocalStore;
  readonly timers: TimerBag;
  readonly random: Random;
  /** The device as the history names it ("user/device"). */
  readonly p: string;
  phase: PhonePhase = 'idle';
  /** The current session; undefined between links. */
  session: DriverSession | undefined;
  /** Identifies the current link; callbacks of older links are ignored. */
  linkGen = 0;
  /** What the last session announced (kept across links, as the limits of the last hello); before any, every list fits. */
  paging: RequestPaging = UNLIMITED_PAGING;
  foreground = false;
  openChatId: string | undefined;

  constructor(readonly config: PhoneConfig) {
    this.options = { ...DEFAULT_PHONE_OPTIONS, ...config.options };
    this.p = `${config.user}/${config.device}`;
    this.timers = new TimerBag(config.time);
    this.random = config.random;
    this.store = new LocalStore(config.chats.map((chat) => chat.id));
  }

  nowMs(): number {
    return this.config.time.nowMs();
  }

  /** True between the hello and the link's loss: intents can go out (sync may still be paging). */
  linkUp(): boolean {
    return this.phase === 'syncing' || this.phase === 'ready';
  }

  /** To the server over the current session (nothing without one). */
  send(intent: PhoneIntent): void {
    this.session?.send(intent);
  }

  isOwnDevice(from: string, fromDevice: string): boolean {
    return from === this.config.user && fromDevice === this.config.device;
  }

  isVisible(chat: string): boolean {
    return this.foreground && this.openChatId === chat;
  }

  /** Equal jitter: never much sooner than the exponential step, so a slow ACK is not hammered. */
  randomRetryDelayMs(attempt: number): number {
    const boundMs = Math.min(this.options.sendRetryCapMs, this.options.sendRetryBaseMs * 2 ** Math.min(attempt, 62));
    return boundMs / 2 + this.random.nextFloat() * (boundMs / 2);
  }

  /** What is on screen: the read-receipt checks (B6) owe a read only for a visible chat. */
  recordView(): void {
    this.record(this.openChatId === undefined ? { type: 'view', foreground: this.foreground } : { type: 'view', foreground: this.foreground, chat: this.openChatId });
  }

  record(event: PhoneRecord): void {
    if (this.phase === 'stopped') return;
    this.config.history.record({ ...event, t: this.config.time.nowMs() - this.config.startMs, p: this.p } as HistoryEvent);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
