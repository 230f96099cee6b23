/**
 * The fuzz suite's own checkers (fuzz/), each shown to fail on a deliberately broken server or
 * input and to pass on a correct one, and the documented-protocol reader held to the code's tables.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { CLOSE_CODES, ERROR_CODES } from '../../server/protocol/errorCodes.ts';
import { ConformanceAudit } from '../../fuzz/ConformanceAudit.ts';
import { binaryProbe, judgeViolation, runFrameFuzz, type FrameFuzzOptions } from '../../fuzz/frameFuzz.ts';
import { validFrameText } from '../../fuzz/frameArbitraries.ts';
import { HealthWatch } from '../../fuzz/HealthWatch.ts';
import { documentedProtocol, parseProtocolDoc } from '../../fuzz/protocolDoc.ts';
import { FRAMING_VIOLATIONS, RawWebSocket } from '../../fuzz/rawWebSocket.ts';
import { startInProcess, type FuzzTarget } from '../../fuzz/targets.ts';

const SERVER_FRAME_TYPES = ['hello', 'sent', 'message', 'receipt', 'typing', 'presence', 'presence_result', 'sync_result', 'error', 'pong', 'resync'];

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('the documented protocol the fuzz suite holds the server to', () => {
  it('names every error code, close code and server frame type of the code (server/protocol)', () => {
    const doc = documentedProtocol();
    for (const code of Object.keys(ERROR_CODES)) expect(doc.errorCodes, code).toContain(code);
    for (const { code } of Object.values(CLOSE_CODES)) expect(doc.closeCodes, String(code)).toContain(code);
    for (const type of SERVER_FRAME_TYPES) expect(doc.serverFrameTypes, type).toContain(type);
    // And nothing the code does not have: the doc's tables are read, not guessed.
    for (const code of doc.errorCodes) expect([...Object.keys(ERROR_CODES), 'UNSUPPORTED_PROTOCOL'], code).toContain(code);
    expect([...doc.serverFrameTypes].sort()).toEqual([...SERVER_FRAME_TYPES].sort());
    expect(doc.closeCodes).toContain(1006); // the text names it: a dropped link
  });

  it('fails loudly when a table it reads is gone', () => {
    expect(() => parseProtocolDoc('# nothing here')).toThrow(/no section/);
  });
});

describe('ConformanceAudit', () => {
  const audience = { chats: new Set(['d:a:b']), friends: new Set(['b']) };

  it('passes documented frames and codes, flags undocumented ones and leaks', () => {
    const audit = new ConformanceAudit(documentedProtocol());
    audit.serverFrame('{"type":"error","code":"BAD_FRAME","message":"x"}', false, audience);
    audit.serverFrame('{"type":"message","chat":"d:a:b","seq":1}', false, audience);
    audit.serverFrame('{"type":"presence","user":"b","online":true}', false, audience);
    audit.close(4429, 'flood');
    audit.close(1006, 'dropped');
    expect(audit.list()).toEqual([]);

    audit.serverFrame('{"type":"surprise"}', false, audience);
    audit.serverFrame('{"type":"error","code":"OOPS","message":"x"}', false, audience);
    audit.serverFrame('[1]', false, audience);
    audit.serverFrame(Buffer.from([1, 2]), true, audience);
    audit.close(4999, 'something');
    audit.serverFrame('{"type":"message","chat":"d:x:y","seq":1}', false, audience);
    audit.serverFrame('{"type":"presence","user":"stranger","online":true}', false, audience);
    audit.serverFrame('{"type":"sync_result","ref":"s","chats":[{"chat":"d:x:y"}]}', false, audience);
    const kinds = Object.fromEntries(audit.list().map((f) => [f.kind, f.count]));
    expect(kinds).toEqual({ 'undocumented-frame': 2, 'undocumented-error-code': 1, 'binary-from-server': 1, 'undocumented-close-code': 1, leak: 3 });
  });
});

describe('HealthWatch', () => {
  async function healthServer(delayMs: number): Promise<string> {
    const server = http.createServer((_req, res) => setTimeout(() => res.end('{"status":"ok"}'), delayMs));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('counts a server that answers after the deadline as slow, streak by streak; a prompt one as healthy', async () => {
    const slow = new HealthWatch(await healthServer(400), { intervalMs: 50, deadlineMs: 150 });
    const fast = new HealthWatch(await healthServer(0), { intervalMs: 50, deadlineMs: 1000 });
    while (slow.report.polls < 5 || fast.report.polls < 5) await new Promise((r) => setTimeout(r, 50));
    const [s, f] = await Promise.all([slow.stop(), fast.stop()]);
    expect(s.slowStreakMax).toBeGreaterThanOrEqual(3);
    expect(s.slowSamples[0]).toMatch(/no answer within 150 ms/);
    expect(f.polls).toBeGreaterThan(3);
    expect(f.slow).toBe(0);
  });
});

describe('binaryProbe', () => {
  /** A gateway stand-in: greets, then answers every message (binary too) as `answer` says. */
  async function stubGateway(answer: (text: string, binary: boolean) => string): Promise<string> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'chatsim.v1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (ws) => {
      ws.send('{"type":"hello","v":1}');
      ws.on('message', (data, binary) => ws.send(answer(String(data), binary)));
    });
    stops.push(() => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()); }));
    return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  }

  it('flags a server that serves binary frames like text, not one that refuses them', async () => {
    const serves = await stubGateway((text) => (text.includes('ping') ? '{"type":"pong"}' : '{"type":"sync_result","ref":"binary-probe"}'));
    const refuses = await stubGateway(() => '{"type":"error","code":"BAD_FRAME","message":"binary frames are not part of v1"}');
    const bad = new ConformanceAudit(documentedProtocol());
    const good = new ConformanceAudit(documentedProtocol());
    await binaryProbe({ gatewayUrls: [serves] }, { id: 'u', token: 't', chats: [], friends: [] }, bad);
    await binaryProbe({ gatewayUrls: [refuses] }, { id: 'u', token: 't', chats: [], friends: [] }, good);
    expect(bad.count('binary-accepted')).toBe(1);
    expect(good.list()).toEqual([]);
  });
});

describe('framing violations', () => {
  /** Completes the WebSocket handshake, then reads and ignores everything: a server that accepts any framing. */
  async function lenientServer(): Promise<string> {
    const server = net.createServer((socket) => {
      socket.once('data', (head) => {
        const key = /Sec-WebSocket-Key: (\S+)/i.exec(String(head))![1]!;
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: chatsim.v1\r\n\r\n`);
        socket.on('data', () => undefined);
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('a server that accepts a reserved opcode is flagged; the real gateway closes with a documented code', async () => {
    const violation = FRAMING_VIOLATIONS.find((v) => v.name === 'reserved opcode 3')!;
    const lenient = await RawWebSocket.connect(await lenientServer(), 't');
    for (const chunk of violation.chunks(1024)) lenient.write(chunk);
    const bad = new ConformanceAudit(documentedProtocol());
    judgeViolation(violation, await lenient.outcome(300), bad);
    expect(bad.count('violation-accepted')).toBe(1);

    const target = await startInProcess();
    stops.push(() => target.stop());
    const login = await loginOnce(target, 'rawtester');
    const real = await RawWebSocket.connect(target.gatewayUrls[0]!, login);
    for (const chunk of violation.chunks(target.limits.frameBytesHardMax)) real.write(chunk);
    const good = new ConformanceAudit(documentedProtocol());
    const outcome = await real.outcome(3000);
    judgeViolation(violation, outcome, good);
    expect(outcome.closeCode).toBe(1002);
    expect(good.list()).toEqual([]);
  });
});

describe('runFrameFuzz against a broken cluster', () => {
  // The cluster runs in this process, so only valid frames: a frame that hung it would hang the test.
  const validOnly: FrameFuzzOptions['arbitrary'] = (ctx) => validFrameText(ctx).map((payload) => ({ kind: 'valid' as const, payload, binary: false }));

  it('reports lost bystander messages when the broker drops every delivery', async () => {
    const target = await startInProcess({ faultEquipment: ['broker-loss'] });
    stops.push(() => target.stop());
    let dropping = false;
    const report = await runFrameFuzz(target, {
      frames: 300, connections: 2, seed: 7, arbitrary: validOnly, bystanderDrainMs: 3000,
      log: () => {
        if (dropping) return;
        dropping = true;
        void target.cluster.loseBrokerMessages(1);
      },
    });
    expect(report.findings.map((f) => f.kind)).toContain('bystander-loss');
    expect(report.bystander.lostCount).toBeGreaterThan(0);
  }, 60_000);

  it('reports heap growth past the bound, and a process death as a crash', async () => {
    const real = await startInProcess();
    stops.push(() => real.stop());
    let heap = 10_000_000;
    let calls = 0;
    const target: FuzzTarget = {
      ...real,
      heapUsedAfterGc: async () => (heap += 20 * 1024 * 1024),
      deaths: () => (++calls > 10 ? ['chat server process exited (code 1)'] : []),
    };
    const report = await runFrameFuzz(target, { frames: 200_000, connections: 2, seed: 8, arbitrary: validOnly, heapGrowthMaxBytes: 1024 * 1024 });
    expect(report.aborted).toMatch(/^crash: chat server process exited/);
    expect(report.findings.map((f) => f.kind)).toContain('crash');
    expect(report.passed).toBe(false);
    expect(report.frames.sent).toBeLessThan(200_000);

    const grows = await runFrameFuzz({ ...real, heapUsedAfterGc: async () => (heap += 20 * 1024 * 1024) }, { frames: 200, connections: 2, seed: 9, arbitrary: validOnly, userPrefix: 'hg', heapGrowthMaxBytes: 1024 * 1024 });
    expect(grows.findings.map((f) => f.kind)).toContain('heap-growth');
    expect(grows.heap!.growthBytes).toBeGreaterThan(1024 * 1024);
  }, 60_000);
});

async function loginOnce(target: FuzzTarget, user: string): Promise<string> {
  const headers = { 'content-type': 'application/json', 'x-admin-token': target.adminToken };
  await fetch(`${target.httpUrl}/v1/admin/provision`, { method: 'POST', headers, body: JSON.stringify({ users: [{ id: user, password: 'pw-raw-tester' }] }) });
  const res = await fetch(`${target.httpUrl}/v1/login`, { method: 'POST', headers, body: JSON.stringify({ user, password: 'pw-raw-tester' }) });
  return ((await res.json()) as { token: string }).token;
}
