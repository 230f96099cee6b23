// Holds every frame and close code a fuzz run sees to docs/protocol.md, and what each connection
// may see at all: frames about chats it is not in, or presence of users who are not its friends,
// are leaks. Findings are counted by kind with a few samples each, so a run of 200,000 frames
// stays readable.
import type { DocumentedProtocol } from './protocolDoc.ts';

export type FindingKind =
  | 'undocumented-frame' | 'undocumented-error-code' | 'undocumented-close-code' | 'binary-from-server'
  | 'leak' | 'violation-accepted' | 'binary-accepted' | 'crash' | 'hang' | 'bystander-loss' | 'heap-growth'
  | 'http-500' | 'http-no-answer' | 'undocumented-http-status' | 'undocumented-http-error-code' | 'port-dead';

export interface Finding { kind: FindingKind; count: number; samples: string[] }

/** What one connection may hear about: its chats and its friends. */
export interface Audience { chats: ReadonlySet<string>; friends: ReadonlySet<string> }

const SAMPLES_MAX = 5;

export class ConformanceAudit {
  readonly framesByType = new Map<string, number>();
  readonly errorsByCode = new Map<string, number>();
  readonly closesByCode = new Map<number, number>();
  private readonly findings = new Map<FindingKind, Finding>();

  constructor(readonly doc: DocumentedProtocol) {}

  /** One WebSocket message from the server. */
  serverFrame(data: string | Buffer, binary: boolean, audience?: Audience): void {
    if (binary) {
      this.flag('binary-from-server', `${Buffer.byteLength(data)} bytes`);
      return;
    }
    const text = String(data);
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.flag('undocumented-frame', `not JSON: ${text.slice(0, 120)}`);
      return;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || typeof (frame as { type?: unknown }).type !== 'string') {
      this.flag('undocumented-frame', `not an object with a string type: ${text.slice(0, 120)}`);
      return;
    }
    const f = frame as Record<string, unknown> & { type: string };
    bump(this.framesByType, f.type);
    if (!this.doc.serverFrameTypes.has(f.type)) this.flag('undocumented-frame', text.slice(0, 160));
    if (f.type === 'error') {
      const code = String(f.code);
      bump(this.errorsByCode, code);
      if (!this.doc.errorCodes.has(code)) this.flag('undocumented-error-code', text.slice(0, 160));
    }
    if (audience) this.checkAudience(f, audience, text);
  }

  /** A WebSocket close seen by a client (1006 when the link dropped without a close frame). */
  close(code: number, context: string): void {
    bump(this.closesByCode, code);
    if (!this.doc.closeCodes.has(code)) this.flag('undocumented-close-code', `${code} after ${context}`);
  }

  flag(kind: FindingKind, sample: string): void {
    const finding = this.findings.get(kind) ?? { kind, count: 0, samples: [] };
    finding.count++;
    if (finding.samples.length < SAMPLES_MAX) finding.samples.push(sample);
    this.findings.set(kind, finding);
  }

  list(): Finding[] {
    return [...this.findings.values()];
  }

  count(kind?: FindingKind): number {
    if (kind) return this.findings.get(kind)?.count ?? 0;
    let n = 0;
    for (const f of this.findings.values()) n += f.count;
    return n;
  }

  private checkAudience(f: Record<string, unknown> & { type: string }, audience: Audience, text: string): void {
    const chatOk = (chat: unknown): boolean => typeof chat === 'string' && audience.chats.has(chat);
    if ((f.type === 'message' || f.type === 'receipt' || f.type === 'typing' || f.type === 'sent') && !chatOk(f.chat)) this.flag('leak', text.slice(0, 160));
    if (f.type === 'presence' && !audience.friends.has(String(f.user))) this.flag('leak', text.slice(0, 160));
    if (f.type === 'presence_result' && Array.isArray(f.users)) {
      for (const u of f.users as Array<{ user?: unknown }>) if (!audience.friends.has(String(u?.user))) this.flag('leak', text.slice(0, 160));
    }
    if (f.type === 'sync_result' && Array.isArray(f.chats)) {
      for (const c of f.chats as Array<{ chat?: unknown }>) if (!chatOk(c?.chat)) this.flag('leak', text.slice(0, 160));
    }
  }
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
