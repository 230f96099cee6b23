// The shaping applied to a real socket: a `ws` echo server on loopback, a minimal `ws` inner
// transport, real time. Shows the delays add up on a real round trip (both directions).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { SeededRandom } from '../../server/memory/SeededRandom.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';
import { ShapedTransport } from '../../simulator/network/ShapedTransport.ts';
import { builtinProfile } from '../../simulator/scenario/builtinProfiles.ts';
import type { ClientLink, ClientLinkHandlers, ClientTransport } from '../../simulator/transport/ClientTransport.ts';

/** Just enough of a `ws` client to stand under ShapedTransport. */
class WsInner implements ClientTransport {
  open(url: string, _token: string, handlers: ClientLinkHandlers): ClientLink {
    const ws = new WebSocket(url);
    let closed = false;
    const finish = (code: number, reason: string) => { if (!closed) { closed = true; handlers.onClose(code, reason); } };
    ws.on('open', () => handlers.onOpen());
    ws.on('message', (data) => { if (!closed) handlers.onFrame(String(data)); });
    ws.on('error', () => {});
    ws.on('close', (code, reason) => finish(code, reason.toString()));
    return {
      get isOpen() { return !closed && ws.readyState === WebSocket.OPEN; },
      send: (text) => ws.send(text),
      close: (code, reason) => ws.close(code, reason),
      abort: () => { ws.terminate(); finish(1006, 'aborted'); },
    };
  }
}

describe('ShapedTransport over a real ws socket', () => {
  let server: WebSocketServer;
  let url: string;
  /** Server-side arrival times of each frame, by text. */
  const arrivedAtMs = new Map<string, number>();

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.on('listening', () => resolve()));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (socket) => socket.on('message', (data) => {
      arrivedAtMs.set(String(data), Date.now());
      socket.send(String(data));
    }));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Opens a shaped link, sends `text`, and resolves with when it was sent and echoed back. */
  async function roundTrip(latencyMs: number, text: string): Promise<{ sentAtMs: number; echoedAtMs: number }> {
    const time = createSystemTime();
    const profile = { ...builtinProfile('loopback'), name: 'test', latencyMs: { base: latencyMs, jitter: 0 } };
    const net = new ShapedTransport({ inner: new WsInner(), profile, time, random: new SeededRandom(1), device: 'u/d' });
    try {
      return await new Promise((resolve, reject) => {
        let sentAtMs = 0;
        const link: ClientLink = net.open(url, 'token', {
          onOpen: () => { sentAtMs = Date.now(); link.send(text); },
          onFrame: (echo) => { if (echo === text) resolve({ sentAtMs, echoedAtMs: Date.now() }); },
          onClose: (code, reason) => reject(new Error(`closed ${code} ${reason}`)),
        });
      });
    } finally {
      net.dispose();
    }
  }

  it('delays each direction by the profile latency on a real round trip', async () => {
    const shaped = await roundTrip(80, 'shaped');
    expect(arrivedAtMs.get('shaped')! - shaped.sentAtMs).toBeGreaterThanOrEqual(79); // one way
    expect(shaped.echoedAtMs - shaped.sentAtMs).toBeGreaterThanOrEqual(159); // both ways
    const bare = await roundTrip(0, 'bare');
    expect(bare.echoedAtMs - bare.sentAtMs).toBeLessThan(shaped.echoedAtMs - shaped.sentAtMs - 100);
  });
});
