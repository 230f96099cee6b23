// Catching up: sync rounds by watermark (paged when the chats do not fit one request) or by
// token (chained through the user's inbox), a gap's delayed sync, and an epoch reset.
import type { TimerHandle } from '../../server/ports/Clock.ts';
import type { InboxEntry, SyncChatPage, SyncIntent } from '../drivers/PhoneDriver.ts';
import type { SyncChatSummary } from '../history/HistoryEvent.ts';
import type { Inbox } from './Inbox.ts';
import type { PhoneCore } from './PhoneCore.ts';
import type { ReceiptTracker } from './ReceiptTracker.ts';

interface SyncInFlight {
  id: string;
  timer: TimerHandle;
  /** The chats a paged round's request listed (undefined: the whole list). */
  page?: string[];
}

/** What a sync page looks like to the session (the driver's sync-page event). */
export interface SyncPage {
  ref: string;
  epoch: string;
  hasMore: boolean;
  chats: SyncChatPage[];
  entries: InboxEntry[];
  token?: string;
}

/** What the sync session asks of the rest of the phone. */
export interface SyncPeers {
  inbox: Inbox;
  receipts: ReceiptTracker;
  /** The first round after a hello is done: the phone is ready. */
  becomeReady(): void;
  /** A later round is done: presence pushes may have been lost with what made it necessary. */
  queryPresence(): void;
  /** Any round is done: the server answered, so sends refused as unavailable may go again now. */
  serverBack(): void;
}

export class SyncSession {
  private syncCounter = 0;
  /** Chats of a paged sync round still to sync, in order; undefined when the round fits one request. */
  private remaining: string[] | undefined;
  private inFlight: SyncInFlight | undefined;
  private again = false;
  /** Token mode: the token of the last answer, the next request's; undefined before the first (and after a reset). */
  private token: string | undefined;
  /** Token mode: chats whose member-added naming this user came, whose first message is still to come. */
  private readonly joinedByToken = new Set<string>();
  private roundMessages = 0;
  private gapSyncTimer: TimerHandle | undefined;

  constructor(private readonly core: PhoneCore, private readonly peers: SyncPeers) {}

  /** True if `ref` names the request in flight. */
  awaits(ref: string): boolean {
    return this.inFlight?.id === ref;
  }

  /** The link is gone: the request in flight (and any queued round) with it. */
  linkLost(): void {
    this.inFlight?.timer.cancel();
    this.inFlight = undefined;
    this.again = false;
  }

  /** Starts a sync round, or queues one more if a sync is in flight. */
  request(): void {
    if (this.core.phase !== 'syncing' && this.core.phase !== 'ready') return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.roundMessages = 0;
    this.startPages();
    this.sendNext();
  }

  /** A gap waits briefly for the missing push (pushes from two chat servers can cross). */
  scheduleGapSync(): void {
    if (this.gapSyncTimer) return;
    this.gapSyncTimer = this.core.timers.schedule(this.core.options.gapSyncDelayMs, () => {
      this.gapSyncTimer = undefined;
      if (this.core.store.chats().some((chat) => this.core.store.timeline(chat).hasGap())) this.request();
    });
  }

  onPage(page: SyncPage): void {
    if (this.inFlight?.id !== page.ref) return; // a late answer to a timed-out request
    if (this.core.config.syncMode === 'token') return this.onTokenPage(page);
    this.onWatermarkPage(page);
  }

  /** The server refused the request in flight. Positions gone: sync again without them; retryable: again after a pause. */
  refused(retryable: boolean, positionsGone: boolean): void {
    const inFlight = this.inFlight!;
    inFlight.timer.cancel();
    this.inFlight = undefined;
    if (positionsGone) {
      this.resetPositions();
      this.startPages();
      return this.sendNext();
    }
    if (retryable) {
      this.inFlight = { id: inFlight.id, timer: this.core.timers.schedule(this.core.randomRetryDelayMs(0), () => { this.inFlight = undefined; this.sendNext(); }) };
      return;
    }
    // A sync the server refuses for good: carry on with what we have rather than hang.
    if (this.core.phase === 'syncing') this.peers.becomeReady();
  }

  /**
   * A round lists every chat. If they do not fit one request (the session's limits), the round
   * pages: each request lists what fits and asks for the listed chats only, and a chat whose
   * page was cut is asked again before the round moves on.
   */
  private startPages(): void {
    const chats = this.core.store.chats();
    this.remaining = this.core.paging.chatsPage(chats, this.core.store.watermarks()).length < chats.length ? chats : undefined;
  }

  private sendNext(): void {
    if (this.core.config.syncMode === 'token') return this.sendToken();
    const { core } = this;
    const id = `${core.config.device}-s${++this.syncCounter}`;
    const all = core.store.watermarks();
    const page = this.remaining ? core.paging.chatsPage(this.remaining, all) : undefined;
    const watermarks = page ? Object.fromEntries(page.map((chat) => [chat, all[chat] ?? 0])) : all;
    const intent: SyncIntent = { kind: 'sync', mode: 'positions', id, positions: watermarks, ...(core.store.epoch !== undefined ? { epoch: core.store.epoch } : {}), ...(page ? { listedOnly: true } : {}) };
    core.record({ type: 'invoke', op: 'sync', mode: 'watermark', id, watermarks });
    const timer = this.timeoutTimer(id);
    this.inFlight = page ? { id, timer, page } : { id, timer };
    core.send(intent);
  }

  /**
   * Token mode: one request names the token of the last answer ("" before the first: the whole
   * inbox of the epoch); each answer's token is the next request's, so no inbox event falls
   * between two of them (C2). A round lasts while answers say `hasMore`.
   */
  private sendToken(): void {
    const id = `${this.core.config.device}-s${++this.syncCounter}`;
    const token = this.token ?? '';
    this.core.record({ type: 'invoke', op: 'sync', mode: 'token', id, token });
    const timer = this.timeoutTimer(id);
    this.inFlight = { id, timer };
    this.core.send({ kind: 'sync', mode: 'token', id, token });
  }

  /** A request without an answer after syncTimeoutMs is sent again. */
  private timeoutTimer(id: string): TimerHandle {
    return this.core.timers.schedule(this.core.options.syncTimeoutMs, () => {
      if (this.inFlight?.id !== id) return;
      this.inFlight = undefined;
      this.sendNext();
    });
  }

  /** A token sync's answer: messages and receipts as if pushed by sync, the token kept for the next request. */
  private onTokenPage(page: SyncPage): void {
    const { core } = this;
    this.inFlight!.timer.cancel();
    this.inFlight = undefined;
    core.store.epoch = page.epoch;
    const positions = page.entries.map((e) => e.position);
    let messages = 0;
    for (const entry of page.entries) {
      if (entry.kind === 'message') {
        const m = entry.message;
        const timeline = core.store.timeline(m.chat);
        // The inbox holds a chat's messages from the user's join on, in seq order: the first one
        // after our own member-added shows where the chat begins for a member who joined later,
        // or resumes for one who left and was added again (the messages sent while it was out
        // never come; swarm seed 119). One at or below the watermark (a copy repeated by two
        // chat servers) shows nothing.
        if (m.seq > timeline.watermark && this.joinedByToken.delete(m.chat)) {
          timeline.startAfter(m.seq - 1);
          this.peers.inbox.renderReady(m.chat); // pushes held above the old start may now be in order
        }
        this.peers.inbox.onMessage(m, 'sync');
        messages++;
      } else if (entry.kind === 'receipt') {
        this.peers.inbox.applyReceipt(entry.receipt);
      } else if (entry.kind === 'member-added') {
        core.store.timeline(entry.chat);
        if (entry.user === core.config.user) this.joinedByToken.add(entry.chat);
      }
    }
    const inOrder = positions.every((pos, i) => i === 0 || pos > positions[i - 1]!);
    core.record({
      type: 'ok', op: 'sync', mode: 'token', id: page.ref, messages, hasMore: page.hasMore, ...(page.token !== undefined ? { token: page.token } : {}),
      events: { count: positions.length, first: positions[0] ?? 0, last: positions.at(-1) ?? 0, inOrder },
    });
    if (page.token !== undefined) this.token = page.token;
    this.roundMessages += messages;
    if (this.again) {
      this.again = false;
      return this.sendNext();
    }
    if (page.hasMore) return this.sendNext();
    this.roundDone();
  }

  private onWatermarkPage(page: SyncPage): void {
    const { core } = this;
    const sentPage = this.inFlight!.page;
    this.inFlight!.timer.cancel();
    this.inFlight = undefined;
    core.store.epoch = page.epoch;
    let messages = 0;
    let more = page.hasMore;
    const perChat: SyncChatSummary[] = [];
    const cut: string[] = [];
    for (const chat of page.chats) {
      perChat.push(summarizeSyncChat(chat));
      core.store.timeline(chat.chat);
      for (const message of chat.messages) this.peers.inbox.onMessage(message, 'sync');
      for (const receipt of chat.receipts) this.peers.inbox.applyReceipt(receipt);
      messages += chat.messages.length;
      more ||= chat.hasMore;
      if (chat.hasMore) cut.push(chat.chat);
    }
    core.record({ type: 'ok', op: 'sync', mode: 'watermark', id: page.ref, messages, hasMore: more, chats: perChat });
    this.roundMessages += messages;
    if (this.remaining) {
      // The page is done except its cut chats, which go first in the next page.
      const listed = new Set(sentPage ?? []);
      this.remaining = [...cut, ...this.remaining.filter((chat) => !listed.has(chat) && !cut.includes(chat))];
      more = this.remaining.length > 0;
    }
    if (this.again) {
      this.again = false;
      this.startPages(); // a gap may sit in a chat this round already synced: every chat again
      return this.sendNext();
    }
    if (more) return this.sendNext();
    this.roundDone();
  }

  /**
   * The round is over. The first after a hello makes the phone ready; a later one (after a
   * resync, a gap or a final read) means whatever made it necessary (a gateway cut off from the
   * broker, lost pushes) lost presence pushes too, and possibly refused receipts: both are
   * re-read or repeated now, as after a reconnect. Either way sends refused as unavailable go again now.
   */
  private roundDone(): void {
    this.core.config.metrics.observe('syncMessages', this.roundMessages);
    this.peers.serverBack();
    if (this.core.phase === 'syncing') return this.peers.becomeReady();
    this.peers.receipts.syncRoundDone();
    this.peers.queryPresence();
  }

  /** Start over after an epoch change: positions and receipt state of the old epoch mean nothing. */
  private resetPositions(): void {
    this.core.store.resetPositions();
    this.token = undefined;
    this.peers.receipts.reset();
    this.core.config.metrics.increment('sync.resets');
  }
}

/** Per chat of a sync result, what the sync checks (A3, C1, C3) need: head, truncation, the seq range returned. */
function summarizeSyncChat(chat: SyncChatPage): SyncChatSummary {
  const seqs = chat.messages.map((m) => m.seq);
  const inOrder = seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!);
  return { chat: chat.chat, head: chat.head, hasMore: chat.hasMore, count: seqs.length, first: seqs[0] ?? 0, last: seqs[seqs.length - 1] ?? 0, inOrder };
}
