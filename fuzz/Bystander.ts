// Two users in a direct chat, each on a gateway of their own, talking the whole time a fuzz run
// lasts: they take turns sending a message every `intervalMs`, the other acks what it got. Like
// any client, a bystander resends a message refused with a retryable code (TOO_MANY_PENDING,
// RATE_LIMITED, UNAVAILABLE: docs/protocol.md section 8) under its clientMsgId. At the end every
// message must have its `sent`, have reached the other side, and no connection may have closed.
import WebSocket from 'ws';
import type { ConformanceAudit } from './ConformanceAudit.ts';

export interface BystanderReport {
  sent: number;
  acknowledged: number;
  delivered: number;
  /** How many messages have no `sent` or never reached the other side. */
  lostCount: number;
  /** The first 20 of those clientMsgIds. */
  lost: string[];
  /** Close codes of bystander connections that closed before the end. */
  closed: number[];
  /** Resends after a retryable error (a busy cluster may refuse a frame for a moment). */
  retries: number;
  /** `error` frames the bystanders got with a code that is not retryable (none expected). */
  errors: string[];
}

/** A message without its `sent` this long is sent again (same clientMsgId), as a phone would. */
const RESEND_AFTER_MS = 10_000;

interface Side {
  name: string;
  ws: WebSocket;
  acked: Set<string>;
  received: Map<string, number>;
  highestContiguous: number;
  seqs: Set<number>;
}

export class Bystander {
  private readonly sides: Side[] = [];
  private readonly sentIds: Array<{ from: number; id: string }> = [];
  private readonly closed: number[] = [];
  private readonly errors: string[] = [];
  private readonly bodies = new Map<string, string>();
  private retries = 0;
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  private turn = 0;
  private readonly sentAt = new Map<string, number>();
  private stopping = false;

  private constructor(private readonly chat: string, private readonly audit: ConformanceAudit) {}

  /** Connects both users (tokens of `users[i]` on `urls[i]`) and starts talking. */
  static async start(options: { chat: string; users: [string, string]; tokens: [string, string]; urls: [string, string]; intervalMs?: number; audit: ConformanceAudit }): Promise<Bystander> {
    const b = new Bystander(options.chat, options.audit);
    for (let i = 0; i < 2; i++) b.sides.push(await b.open(options.users[i]!, options.users[1 - i]!, options.tokens[i]!, options.urls[i]!));
    b.timer = setInterval(() => b.tick(), options.intervalMs ?? 200);
    return b;
  }

  /** Stops sending, waits up to `drainMs` for the last messages, closes, and reports. */
  async stop(drainMs = 15_000): Promise<BystanderReport> {
    clearInterval(this.timer);
    const deadline = Date.now() + drainMs;
    while (Date.now() < deadline && this.missing().length > 0 && this.closed.length === 0) await new Promise((r) => setTimeout(r, 50));
    this.stopping = true;
    for (const side of this.sides) side.ws.close();
    const lost = this.missing();
    return {
      sent: this.sentIds.length,
      acknowledged: this.sentIds.filter((s) => this.sides[s.from]!.acked.has(s.id)).length,
      delivered: this.sentIds.filter((s) => this.sides[1 - s.from]!.received.has(s.id)).length,
      lost: lost.slice(0, 20), lostCount: lost.length, closed: [...this.closed], retries: this.retries, errors: this.errors.slice(0, 10),
    };
  }

  private missing(): string[] {
    return this.sentIds.filter((s) => !this.sides[s.from]!.acked.has(s.id) || !this.sides[1 - s.from]!.received.has(s.id)).map((s) => s.id);
  }

  /**
   * The sides take turns; a side with a message still unacknowledged waits (and resends it after
   * RESEND_AFTER_MS, as a phone does), so a slow cluster slows the talk instead of piling frames
   * up in the bystander's queue lane until the gateway refuses them.
   */
  private tick(): void {
    const from = this.turn++ % 2;
    const side = this.sides[from]!;
    if (side.ws.readyState !== WebSocket.OPEN) return;
    const last = [...this.sentIds].reverse().find((s) => s.from === from);
    if (last && !side.acked.has(last.id)) {
      if (Date.now() - this.sentAt.get(last.id)! > RESEND_AFTER_MS) {
        this.retries++;
        this.sentAt.set(last.id, Date.now());
        side.ws.send(this.bodies.get(last.id)!);
      }
      return;
    }
    const id = `${side.name}-${++this.n}`;
    this.sentAt.set(id, Date.now());
    this.sentIds.push({ from, id });
    this.bodies.set(id, JSON.stringify({ type: 'send', chat: this.chat, clientMsgId: id, body: `bystander message ${this.n}` }));
    side.ws.send(this.bodies.get(id)!);
  }

  private onError(side: Side, f: Record<string, unknown>): void {
    const retryable = f.code === 'TOO_MANY_PENDING' || f.code === 'RATE_LIMITED' || f.code === 'UNAVAILABLE';
    if (!retryable) {
      this.errors.push(JSON.stringify(f).slice(0, 200));
      return;
    }
    const frame = typeof f.ref === 'string' ? this.bodies.get(f.ref) : undefined;
    if (!frame) return; // a refused ack: the next one carries it (cumulative)
    this.retries++;
    setTimeout(() => { if (side.ws.readyState === WebSocket.OPEN && !side.acked.has(String(f.ref))) side.ws.send(frame); }, 250);
  }

  private async open(user: string, friend: string, token: string, url: string): Promise<Side> {
    const ws = new WebSocket(`${url}/?token=${encodeURIComponent(token)}`, 'chatsim.v1');
    const side: Side = { name: user, ws, acked: new Set(), received: new Map(), highestContiguous: 0, seqs: new Set() };
    const audience = { chats: new Set([this.chat]), friends: new Set([friend]) };
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (data, binary) => {
        this.audit.serverFrame(binary ? Buffer.from(data as Buffer) : String(data), binary, audience);
        if (binary) return;
        const f = JSON.parse(String(data)) as Record<string, unknown>;
        if (f.type === 'hello') resolve();
        else if (f.type === 'sent') side.acked.add(String(f.ref));
        else if (f.type === 'error') this.onError(side, f);
        else if (f.type === 'message' && f.chat === this.chat) this.onMessage(side, f);
      });
      ws.on('close', (code) => {
        if (this.stopping) return;
        this.closed.push(code);
        this.audit.close(code, `bystander ${user}`);
      });
    });
    return side;
  }

  private onMessage(side: Side, f: Record<string, unknown>): void {
    side.received.set(String(f.clientMsgId), Number(f.seq));
    side.seqs.add(Number(f.seq));
    while (side.seqs.has(side.highestContiguous + 1)) side.highestContiguous++;
    // Its own messages fill the seq line too (the sender's seqs come back in `sent`, not as
    // `message`), so ack what arrived; the ack is cumulative and the server checks only the head.
    side.ws.send(JSON.stringify({ type: 'ack', chat: this.chat, upTo: Number(f.seq) }));
  }
}
