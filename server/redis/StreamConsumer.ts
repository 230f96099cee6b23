import type { Redis } from 'ioredis';
import type { TimerHandle } from '../ports/Clock.ts';
import {
  failureReason, retryDelayMs, type ConsumeOptions, type DeadLetter, type QueueConsumer, type QueueEntry,
} from '../ports/InboundQueue.ts';
import type { RedisInboundQueue } from './RedisInboundQueue.ts';
import { ACK, BEGIN, DEAD_LETTER, FORGET_CONSUMER, RELEASE, RENEW, fieldOf, streamReadReply } from './queueScripts.ts';

interface Turn {
  id: string;
  partition: number;
  key: string;
  /** Another consumer holds it now (renewal found it gone): acknowledge nothing. */
  lost: boolean;
  /** Resolves a back-off early (stop). */
  cutBackoff?: () => void;
}

type ConsumerState = 'running' | 'stopping' | 'stopped' | 'dead';

/** One consumer: a blocking read loop on its own connection, plus renewal and claim timers. */
export class StreamConsumer implements QueueConsumer {
  private state: ConsumerState = 'running';
  /** Turns held, by `<partition>/<id>` (stream ids repeat across partitions). */
  private readonly turns = new Map<string, Turn>();
  private readonly running = new Set<Promise<void>>();
  private readonly reader: Redis;
  private readerId: number | undefined;
  private reading = false;
  private wakeLoop: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private readonly renewTimer: TimerHandle;
  private readonly claimTimer: TimerHandle;
  private claiming = false;
  private nextPartition = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly queue: RedisInboundQueue,
    private readonly name: string,
    private readonly handler: (entry: QueueEntry) => Promise<void>,
    private readonly options: ConsumeOptions,
  ) {
    this.reader = queue.client.duplicate();
    this.reader.on('error', () => {});
    this.renewTimer = queue.time.every(queue.settings.renewIntervalMs, () => { void this.renew(); });
    this.claimTimer = queue.time.every(queue.settings.claimIntervalMs, () => { void this.claim(); });
    this.loop = this.readLoop();
  }

  stop(options?: { abandonInFlight?: boolean }): Promise<void> {
    if (options?.abandonInFlight) {
      if (this.state === 'dead' || this.state === 'stopped') return Promise.resolve();
      // A crash: nothing more is done on this consumer's behalf; its turns stay in its
      // pending list until another consumer claims them after claimIdleMs.
      this.state = 'dead';
      this.renewTimer.cancel();
      this.claimTimer.cancel();
      for (const turn of this.turns.values()) turn.cutBackoff?.();
      this.reader.disconnect();
      this.wake();
      return Promise.resolve();
    }
    this.stopping ??= this.stopGracefully();
    return this.stopping;
  }

  private async stopGracefully(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.claimTimer.cancel();
    this.wake();
    await this.interruptRead();
    await this.loop;
    for (const turn of this.turns.values()) turn.cutBackoff?.();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    this.renewTimer.cancel();
    if (this.state !== 'stopping') return; // crashed meanwhile
    await Promise.all(Array.from({ length: this.queue.settings.partitions }, (_, p) =>
      FORGET_CONSUMER.run(this.queue.client, [this.queue.turnsKey(p)], [this.queue.settings.group, this.name])
        .catch((error: unknown) => this.queue.onError(error))));
    this.state = 'stopped';
    await this.reader.quit().catch(() => this.reader.disconnect());
  }

  /** Ends a blocking XREADGROUP under way (CLIENT UNBLOCK), retrying while it has not reached the server. */
  private async interruptRead(): Promise<void> {
    let done = false;
    void this.loop.then(() => { done = true; });
    while (!done && this.state === 'stopping') {
      if (this.reading && this.readerId !== undefined) {
        await this.queue.client.call('CLIENT', 'UNBLOCK', this.readerId).catch(() => {});
      }
      await Promise.race([this.loop, this.delay(5)]);
    }
  }

  private async readLoop(): Promise<void> {
    const { settings } = this.queue;
    while (this.state === 'running') {
      const free = settings.maxInFlight - this.turns.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => { this.wakeLoop = resolve; });
        continue;
      }
      try {
        await this.queue.ensureGroups();
        this.readerId ??= Number(await this.reader.call('CLIENT', 'ID'));
        if (this.state !== 'running') break;
        const partitions = this.pickPartitions(free);
        const count = Math.max(1, Math.floor(free / partitions.length));
        this.reading = true;
        let reply: unknown;
        try {
          reply = await this.reader.call('XREADGROUP', 'GROUP', settings.group, this.name, 'COUNT', count,
            'BLOCK', settings.blockMs, 'STREAMS', ...partitions.map((p) => this.queue.turnsKey(p)), ...partitions.map(() => '>'));
        } finally {
          this.reading = false;
        }
        for (const [stream, entries] of streamReadReply(reply)) {
          const partition = partitions.find((p) => this.queue.turnsKey(p) === stream)!;
          for (const [id, fields] of entries) this.takeTurn(partition, id, fieldOf(fields, 'k'));
        }
      } catch (error) {
        if (this.state !== 'running') break;
        this.queue.onError(error);
        if (error instanceof Error && error.message.startsWith('NOGROUP')) this.queue.ensureGroups(true).catch(() => {});
        await this.delay(settings.errorBackoffMs);
      }
    }
  }

  /** Which turn streams to read: all of them, or `free` of them in rotation so COUNT never exceeds what is free. */
  private pickPartitions(free: number): number[] {
    const n = this.queue.settings.partitions;
    if (free >= n) return Array.from({ length: n }, (_, p) => p);
    const picked: number[] = [];
    for (let i = 0; i < free; i++) picked.push((this.nextPartition + i) % n);
    this.nextPartition = (this.nextPartition + free) % n;
    return picked;
  }

  private takeTurn(partition: number, id: string, key: string): void {
    const slot = `${partition}/${id}`;
    if (this.turns.has(slot)) return; // our own turn, claimed back after a stalled renewal: already running
    if (this.state === 'dead') return; // stays pending; someone claims it later
    if (this.state !== 'running') {
      // Stopping gracefully: hand it back untouched (BEGIN never counted a hand-out for it).
      void this.release({ id, partition, key, lost: false }, false);
      return;
    }
    const turn: Turn = { id, partition, key, lost: false };
    this.turns.set(slot, turn);
    const run = this.runTurn(turn).catch((error: unknown) => {
      // A Redis error: forget the turn locally; unrenewed, it is claimed again after claimIdleMs.
      this.queue.onError(error);
    }).finally(() => {
      this.turns.delete(slot);
      this.running.delete(run);
      this.wake();
    });
    this.running.add(run);
  }

  private async runTurn(turn: Turn): Promise<void> {
    const { queue } = this;
    const keys = [queue.turnsKey(turn.partition), queue.laneKey(turn.partition, turn.key), queue.attemptsKey(turn.partition)];
    const ids = [turn.key, turn.id, this.name, queue.settings.group];
    const begun = await BEGIN.run(queue.client, keys, ids) as [string, number] | null;
    if (!begun || this.is('dead')) return;
    let entry: QueueEntry = { key: turn.key, payload: begun[0], redeliveries: Number(begun[1]) };
    let processed = 0;
    for (;;) {
      if (!this.is('running')) {
        // Got the entry after a stop began: hand it back unprocessed (a crash leaves it pending).
        if (this.is('stopping')) await this.release(turn, true);
        return;
      }
      if (entry.redeliveries >= queue.settings.poisonAttemptsMax) {
        // Every earlier hand-out ended with its consumer dying: give up before a handler sees it again.
        await this.deadLetter(turn, entry, entry.redeliveries, `handed out ${entry.redeliveries} times without an acknowledgement`);
        return;
      }
      let failure: { error: unknown } | undefined;
      try {
        await this.handler({ ...entry });
      } catch (error) {
        failure = { error };
      }
      if (this.is('dead') || turn.lost) return;
      if (failure) {
        if (entry.redeliveries + 1 >= queue.settings.poisonAttemptsMax) {
          await this.deadLetter(turn, entry, entry.redeliveries + 1, failureReason(failure.error));
          return;
        }
        // Hold the turn (the key's later entries wait), then hand it back to any consumer.
        const { retryBaseDelayMs, retryMaxDelayMs } = queue.settings;
        await this.backoff(turn, retryDelayMs(entry.redeliveries, retryBaseDelayMs, retryMaxDelayMs));
        if (this.is('dead') || turn.lost) return;
        await this.release(turn, false);
        return;
      }
      processed++;
      const goOn = this.is('running') && processed < queue.settings.maxEntriesPerTurn ? '1' : '0';
      const reply = await ACK.run(queue.client, keys, [...ids, goOn]) as [number, string?, number?];
      if (Number(reply[0]) !== 2 || this.is('dead')) return;
      entry = { key: turn.key, payload: reply[1]!, redeliveries: Number(reply[2]) };
    }
  }

  /** Moves the turn's head to the dead stream, ends the turn, and tells the hook. */
  private async deadLetter(turn: Turn, entry: QueueEntry, attempts: number, reason: string): Promise<void> {
    const { queue } = this;
    const keys = [queue.turnsKey(turn.partition), queue.laneKey(turn.partition, turn.key), queue.attemptsKey(turn.partition), queue.deadKey(turn.partition)];
    const id = await DEAD_LETTER.run(queue.client, keys,
      [turn.key, turn.id, this.name, queue.settings.group, attempts, reason, queue.settings.deadLettersMax]) as string | null;
    if (!id) return; // not our turn any more: its new holder decides
    const letter: DeadLetter = { correlationId: `dl-${turn.partition}-${id}`, key: entry.key, payload: entry.payload, attempts, reason };
    try {
      await this.options.onDeadLetter?.(letter);
    } catch {
      // The hook's failure changes nothing (contract).
    }
  }

  private async release(turn: Turn, undoHandOut: boolean): Promise<void> {
    const { queue } = this;
    await RELEASE.run(queue.client, [queue.turnsKey(turn.partition), queue.attemptsKey(turn.partition)],
      [turn.key, turn.id, this.name, queue.settings.group, undoHandOut ? '1' : '0'])
      .catch((error: unknown) => queue.onError(error));
  }

  private backoff(turn: Turn, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.queue.time.schedule(ms, () => finish());
      const finish = (): void => {
        timer.cancel();
        turn.cutBackoff = undefined;
        resolve();
      };
      turn.cutBackoff = finish;
    });
  }

  /** Keeps the turns we hold from looking idle; marks those another consumer took as lost. */
  private async renew(): Promise<void> {
    if (this.state === 'dead' || this.state === 'stopped' || this.turns.size === 0) return;
    const byPartition = new Map<number, Turn[]>();
    for (const turn of this.turns.values()) {
      if (turn.lost) continue;
      const list = byPartition.get(turn.partition) ?? [];
      list.push(turn);
      byPartition.set(turn.partition, list);
    }
    await Promise.all([...byPartition].map(async ([partition, turns]) => {
      try {
        const kept = new Set(await RENEW.run(this.queue.client, [this.queue.turnsKey(partition)],
          [this.name, this.queue.settings.group, ...turns.map((t) => t.id)]) as string[]);
        for (const turn of turns) if (!kept.has(turn.id)) turn.lost = true;
      } catch (error) {
        this.queue.onError(error);
      }
    }));
  }

  /** Takes over turns that sat idle for claimIdleMs in any consumer's pending list (a dead consumer's). */
  private async claim(): Promise<void> {
    if (this.state !== 'running' || this.claiming) return;
    this.claiming = true;
    const { settings } = this.queue;
    try {
      await this.queue.ensureGroups();
      for (let p = 0; p < settings.partitions; p++) {
        let cursor = '0-0';
        do {
          const free = settings.maxInFlight - this.turns.size;
          if (free <= 0 || this.state !== 'running') return;
          const reply = await this.queue.client.call('XAUTOCLAIM', this.queue.turnsKey(p), settings.group, this.name,
            settings.claimIdleMs, cursor, 'COUNT', free) as [string, Array<[string, string[]] | null>];
          cursor = reply[0];
          for (const claimed of reply[1]) {
            if (claimed) this.takeTurn(p, claimed[0], fieldOf(claimed[1], 'k'));
          }
        } while (cursor !== '0-0');
      }
    } catch (error) {
      this.queue.onError(error);
    } finally {
      this.claiming = false;
    }
  }

  /** The state now (a method, so checks after an await are not narrowed by earlier ones). */
  private is(state: ConsumerState): boolean {
    return this.state === state;
  }

  private wake(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  private delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => { this.queue.time.schedule(ms, resolve); });
  }
}
