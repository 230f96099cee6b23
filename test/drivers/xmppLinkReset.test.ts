// A link reset while an XMPP stream opens is an error value of XmppConnection.start, never an
// unhandled promise rejection (the Tsung benchmark's phones died of one: `read ECONNRESET` from
// inside @xmpp/client, whose entity.start() leaves a promise of 'online' that the same error
// rejects with nobody awaiting it). Servers here are loopback fakes that reset every connection
// at its first bytes: over TCP (xmpp.js's own socket) and over WebSocket (RFC 7395 on a chatsim
// ClientTransport, as phones use). No ejabberd needed.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { XmppConnection } from '../../simulator/drivers/xmpp/XmppConnection.ts';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };
const closers: Array<() => Promise<void>> = [];

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  for (const close of closers.splice(0)) await close();
});

/** A TCP server that resets (RST) each connection when its first bytes arrive. */
async function resettingTcpServer(): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.resetAndDestroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** A WebSocket server that accepts `xmpp` and drops the TCP connection at the first message (the stream's <open/>). */
async function resettingWsServer(): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => (protocols.has('xmpp') ? 'xmpp' : false) });
  wss.on('connection', (ws) => ws.once('message', () => ws.terminate()));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  closers.push(() => new Promise((resolve) => wss.close(() => resolve())));
  return (wss.address() as AddressInfo).port;
}

/** Lets every timer and promise callback of the failed logins run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('a link reset while the XMPP stream opens', () => {
  it('over TCP: start answers unreachable, and nothing rejects unhandled', async () => {
    const port = await resettingTcpServer();
    for (const autoReconnect of [true, false]) {
      const connection = new XmppConnection({ service: `xmpp://127.0.0.1:${port}`, domain: 'localhost', username: 'u', password: 'p', autoReconnect, requestTimeoutMs: 3_000 });
      const warnings: Error[] = [];
      connection.on('warning', (err) => warnings.push(err));
      for (let attempt = 0; attempt < 3; attempt++) {
        const started = await connection.start();
        expect(started).toMatchObject({ ok: false, error: { code: 'unreachable' } });
      }
      await connection.stop();
      expect(warnings.some((w) => (w as Error & { code?: string }).code === 'ECONNRESET')).toBe(true);
    }
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('over WebSocket on a ClientTransport: start answers unreachable each time, and nothing rejects unhandled', async () => {
    const port = await resettingWsServer();
    const connection = new XmppConnection({
      service: `ws://127.0.0.1:${port}/ws`, domain: 'localhost', username: 'u', password: 'p', autoReconnect: false, requestTimeoutMs: 3_000, transport: new WsClientTransport(),
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = await connection.start();
      expect(started).toMatchObject({ ok: false, error: { code: 'unreachable' } });
    }
    await connection.stop();
    await settle();
    expect(unhandled).toEqual([]);
  });
});
