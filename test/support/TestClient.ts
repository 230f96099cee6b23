// A minimal protocol client for tests: real WebSocket, records every frame it receives.
import WebSocket from 'ws';

export type Frame = Record<string, unknown> & { type: string };

export class TestClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static async connect(url: string, token: string, protocol = 'chatsim.v1'): Promise<TestClient> {
    const ws = new WebSocket(`${url}/?token=${encodeURIComponent(token)}`, protocol);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.next((f) => f.type === 'hello');
    return client;
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** Resolves with the first recorded frame matching `predicate` (recorded before or after the call). */
  async next(predicate: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    return this.until(() => this.frames.find(predicate), timeoutMs);
  }

  /** Waits until `probe` returns a value other than undefined. */
  async until<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms; ${this.frames.length} frames so far, the last: ${JSON.stringify(this.frames.slice(-3)).slice(0, 600)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 50));
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<number> {
    return this.until(() => this.closeCode, timeoutMs);
  }

  ofType(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Lets queued microtasks and socket I/O run. */
export async function settle(ms = 50): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
