// The benchmarks' load generator: a lean pool of WebSocket clients built on chatsim's own
// client transport (simulator/drivers/chatsimV1/WsClientTransport.ts, the one every phone uses), in its
// own process. The parent opens named sets of connections and drives them with one command
// at a time: echo load, 1:1 chat load with the full tick cycle, fan-out, broadcast.
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { PING_TEXT } from '../../server/protocol/frames.ts';
import type { ClientLink } from '../../simulator/transport/ClientTransport.ts';
import { collectGarbage, serveParent } from '../lib/child.ts';

/** Calls of `fanout` so far (see there). */
let fanoutCalls = 0;

interface Conn {
  link: ClientLink;
  open: boolean;
  frames: number;
  onFrame: (text: string) => void;
}

const transport = new WsClientTransport();
const sets = new Map<string, Conn[]>();
const totals = { sent: 0, received: 0 };
let pingTimer: NodeJS.Timeout | undefined;
/** Numbers each chatLoad call: a clientMsgId used again would be deduplicated, not a new message. */
let chatRun = 0;

function setOf(name: string): Conn[] {
  const set = sets.get(name);
  if (!set) throw new Error(`no connection set ${name}`);
  return set;
}

function send(conn: Conn, text: string): void {
  conn.link.send(text);
  totals.sent++;
}

/** Opens one connection; resolves when it is open (and, with `hello`, once its first frame came). */
function openOne(url: string, token: string, hello: boolean, timeoutMs: number): Promise<Conn | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (conn: Conn | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(conn);
    };
    const conn: Conn = {
      link: undefined as unknown as ClientLink,
      open: false,
      frames: 0,
      onFrame: () => done(conn),
    };
    const timer = setTimeout(() => { conn.link.abort(); done(undefined); }, timeoutMs);
    conn.link = transport.open(url, token, {
      onOpen: () => {
        conn.open = true;
        if (!hello) done(conn);
      },
      onFrame: (text) => {
        totals.received++;
        conn.frames++;
        conn.onFrame(text);
      },
      onClose: () => {
        conn.open = false;
        done(undefined);
      },
    });
  });
}

const noop = (): void => undefined;

serveParent({
  /**
   * Opens `count` connections round-robin over `urls` (with `tokens[i]` when given) at most
   * `concurrency` at a time, into set `name`.
   */
  connect: async ({ name, urls, tokens, count, hello, concurrency = 200, timeoutMs = 20_000 }: { name: string; urls: string[]; tokens?: string[]; count: number; hello: boolean; concurrency?: number; timeoutMs?: number }) => {
    const started = performance.now();
    const conns: Conn[] = new Array(count);
    let next = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        const conn = await openOne(urls[i % urls.length]!, tokens?.[i] ?? 'no-token', hello, timeoutMs);
        if (conn) {
          conn.onFrame = noop;
          conns[i] = conn;
        } else failed++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    const list = conns.filter((c) => c !== undefined);
    sets.set(name, [...(sets.get(name) ?? []), ...list]);
    return { connected: list.length, failed, ms: performance.now() - started };
  },
  /** Every 20 s a ping on every open connection (gateways close links silent for 60 s). */
  keepAlive: () => {
    pingTimer ??= setInterval(() => {
      for (const set of sets.values()) for (const c of set) if (c.open) send(c, PING_TEXT);
    }, 20_000);
    return true;
  },
  /**
   * Closed loop: each connection of the set keeps `window` frames of `frameBytes` in flight
   * and sends the next as each echo comes back, for `durationMs`; then drains (2 s at most).
   */
  echoLoad: async ({ name, durationMs, window, frameBytes }: { name: string; durationMs: number; window: number; frameBytes: number }) => {
    const set = setOf(name);
    const frame = JSON.stringify({ type: 'echo', pad: 'x'.repeat(Math.max(0, frameBytes - 25)) });
    let sending = true;
    let inFlight = 0;
    let sent = 0;
    let received = 0;
    const started = performance.now();
    for (const conn of set) {
      conn.onFrame = () => {
        received++;
        inFlight--;
        if (sending) {
          send(conn, frame);
          sent++;
          inFlight++;
        }
      };
      for (let k = 0; k < window; k++) {
        send(conn, frame);
        sent++;
        inFlight++;
      }
    }
    await sleep(durationMs);
    sending = false;
    const loadMs = performance.now() - started;
    const receivedAtEnd = received;
    const drainBy = performance.now() + 2000;
    while (inFlight > 0 && performance.now() < drainBy) await sleep(20);
    for (const conn of set) conn.onFrame = noop;
    return { sent, received, receivedAtEnd, loadMs, lost: inFlight };
  },
  /**
   * 1:1 chats with the full tick cycle: in each pair, A sends `window` messages at a time; B
   * renders each (`message`), acks and reads it; A's message is done when the read receipt
   * covers it (sent, delivered, read), and A sends the next. Runs `durationMs`, then drains (5 s).
   */
  chatLoad: async ({ name, pairs, durationMs, window, bodyBytes }: { name: string; pairs: Array<{ chat: string }>; durationMs: number; window: number; bodyBytes: number }) => {
    const set = setOf(name);
    if (set.length < pairs.length * 2) throw new Error(`set ${name} has ${set.length} connections for ${pairs.length} pairs`);
    const body = 'm'.repeat(bodyBytes);
    const run = chatRun++;
    let sending = true;
    let outstanding = 0;
    const counts = { sends: 0, sentAcks: 0, delivered: 0, deliveredReceipts: 0, readReceipts: 0, completed: 0, errors: 0 };
    const latencies: number[] = [];
    const started = performance.now();
    pairs.forEach((pair, p) => {
      const a = set[2 * p]!;
      const b = set[2 * p + 1]!;
      let counter = 0;
      const sentAt = new Map<string, number>();
      const seqToId = new Map<number, string>();
      const sendOne = (): void => {
        const id = `r${run}-p${p}-${counter++}`;
        sentAt.set(id, performance.now());
        send(a, JSON.stringify({ type: 'send', chat: pair.chat, clientMsgId: id, body }));
        counts.sends++;
        outstanding++;
      };
      a.onFrame = (text) => {
        const f = JSON.parse(text) as { type: string; seq?: number; ref?: string; kind?: string; upTo?: number };
        if (f.type === 'sent') {
          counts.sentAcks++;
          seqToId.set(f.seq!, f.ref!);
        } else if (f.type === 'receipt') {
          if (f.kind === 'delivered') { counts.deliveredReceipts++; return; }
          counts.readReceipts++;
          for (const [seq, id] of seqToId) {
            if (seq > f.upTo!) continue;
            seqToId.delete(seq);
            const at = sentAt.get(id);
            sentAt.delete(id);
            if (at === undefined) continue;
            latencies.push(performance.now() - at);
            counts.completed++;
            outstanding--;
            if (sending) sendOne();
          }
        } else if (f.type === 'error') counts.errors++;
      };
      b.onFrame = (text) => {
        const f = JSON.parse(text) as { type: string; seq?: number; chat?: string };
        if (f.type === 'message') {
          counts.delivered++;
          send(b, JSON.stringify({ type: 'ack', chat: f.chat, upTo: f.seq }));
          send(b, JSON.stringify({ type: 'read', chat: f.chat, upTo: f.seq }));
        } else if (f.type === 'error') counts.errors++;
      };
      for (let k = 0; k < window; k++) sendOne();
    });
    await sleep(durationMs);
    sending = false;
    const loadMs = performance.now() - started;
    const completedAtEnd = counts.completed;
    const deliveredAtEnd = counts.delivered;
    const drainBy = performance.now() + 5000;
    while (outstanding > 0 && performance.now() < drainBy) await sleep(20);
    for (const conn of set) conn.onFrame = noop;
    latencies.sort((x, y) => x - y);
    const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    return { ...counts, completedAtEnd, deliveredAtEnd, loadMs, unfinished: outstanding, sendToReadMs: { p50: q(0.5), p99: q(0.99) } };
  },
  /**
   * Fan-out: connection 0 of `sender` sends `messages` messages to `chat`, one at a time; each
   * is timed from the send to the moment the last connection of `members` received it.
   */
  fanout: async ({ sender, members, chat, messages, timeoutMs = 30_000 }: { sender: string; members: string; chat: string; messages: number; timeoutMs?: number }) => {
    const from = setOf(sender)[0]!;
    const to = setOf(members);
    const times: number[] = [];
    // Fresh clientMsgIds per call: a repeat of an id already stored is a retry, which the chat
    // server answers with its ACK alone (the warm-up call used to share ids with the timed one).
    const call = ++fanoutCalls;
    for (let m = 0; m < messages; m++) {
      const id = `fan-${call}-${m}`;
      let missing = to.length;
      let lastAt = 0;
      const all = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        for (const conn of to) {
          let got = false;
          conn.onFrame = (text) => {
            if (got || !text.includes(`"clientMsgId":"${id}"`)) return;
            const f = JSON.parse(text) as { type: string; clientMsgId?: string };
            if (f.type !== 'message' || f.clientMsgId !== id) return;
            got = true;
            if (--missing === 0) {
              lastAt = performance.now();
              clearTimeout(timer);
              resolve(true);
            }
          };
        }
      });
      from.onFrame = noop;
      const startAt = performance.now();
      send(from, JSON.stringify({ type: 'send', chat, clientMsgId: id, body: `fan-out ${m}` }));
      if (!(await all)) throw new Error(`message ${m}: ${missing} of ${to.length} members had not received it after ${timeoutMs} ms`);
      times.push(lastAt - startAt);
      await sleep(200); // the sent reply and any stragglers settle before the next message
    }
    for (const conn of to) conn.onFrame = noop;
    return { times };
  },
  /** The raw peer of fan-out: "B:..." to the echo server, timed until every connection got it. */
  broadcast: async ({ name, messages, timeoutMs = 30_000 }: { name: string; messages: number; timeoutMs?: number }) => {
    const set = setOf(name);
    const times: number[] = [];
    for (let m = 0; m < messages; m++) {
      const text = `B:${JSON.stringify({ type: 'message', chat: 'g:raw', clientMsgId: `raw-${m}`, body: `fan-out ${m}` })}`;
      let missing = set.length;
      let lastAt = 0;
      const all = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        for (const conn of set) {
          conn.onFrame = (frame) => {
            if (frame !== text) return;
            if (--missing === 0) {
              lastAt = performance.now();
              clearTimeout(timer);
              resolve(true);
            }
          };
        }
      });
      const startAt = performance.now();
      send(set[0]!, text);
      if (!(await all)) throw new Error(`broadcast ${m}: ${missing} of ${set.length} connections had not received it after ${timeoutMs} ms`);
      times.push(lastAt - startAt);
      await sleep(200);
    }
    for (const conn of set) conn.onFrame = noop;
    return { times };
  },
  closeSet: async ({ name }: { name: string }) => {
    const set = sets.get(name) ?? [];
    sets.delete(name);
    for (const conn of set) conn.link.abort();
    return set.length;
  },
  openCount: ({ name }: { name: string }) => setOf(name).filter((c) => c.open).length,
  totals: () => ({ ...totals }),
  gc: () => collectGarbage(),
}, () => {
  if (pingTimer) clearInterval(pingTimer);
  for (const set of sets.values()) for (const conn of set) conn.link.abort();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
