import { afterEach, describe, expect, it } from 'vitest';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { MemoryInboundQueue } from '../../server/memory/MemoryInboundQueue.ts';
import { MemoryLog } from '../../server/memory/MemoryLog.ts';
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import type { AppendInput, AppendResult } from '../../server/ports/MessageStore.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { rawRequest, upgradeRequest } from '../support/rawHttp.ts';

describe('the gateway port answers every request target and never dies (issue 15, finding 2)', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('an upgrade to //, ///, //:99999 or //[ without a token gets 401 BAD_TOKEN, a target that is not a path 400 BAD_REQUEST, and the gateway keeps serving', async () => {
    h = await startHarness({ gateways: 1 });
    const alice = await h.connect('alice');
    // Before the fix: new URL('//', base) threw inside the 'upgrade' listener and the process exited.
    // These are valid origin-form paths (empty segments); the gateway ignores the path, so only the token is missing.
    for (const target of ['//', '///', '//:99999', '//[', '/%zz']) {
      const res = await rawRequest(h.gatewayUrls[0]!, upgradeRequest(target));
      expect(res.status, target).toBe(401);
      expect(JSON.parse(res.body).error.code, target).toBe('BAD_TOKEN');
    }
    for (const target of ['*', 'http://evil/', 'gw']) {
      const res = await rawRequest(h.gatewayUrls[0]!, upgradeRequest(target));
      expect(res.status, target).toBe(400);
      expect(JSON.parse(res.body).error.code, target).toBe('BAD_REQUEST');
    }
    const token = await h.login('dave');
    const opened = await rawRequest(h.gatewayUrls[0]!, upgradeRequest(`//:99999?token=${token}`), 1_000).catch((error: Error) => error.message);
    expect(String(typeof opened === 'string' ? opened : opened.status)).toMatch(/HTTP\/1.1 101/);
    alice.send({ type: 'ping', n: 1 });
    await alice.next((f) => f.type === 'pong');
    const bob = await h.connect('bob');
    expect(bob.closeCode).toBeUndefined();
  });

  it('an unexpected throw in the upgrade handler answers 500 with a correlation id that the log carries too', async () => {
    const log = new MemoryLog();
    h = await startHarness({ gateways: 1, log });
    const tokens = h.cluster.tokens as { verify: unknown };
    const verify = tokens.verify;
    tokens.verify = () => { throw new Error('planned failure in verify'); };
    const res = await rawRequest(h.gatewayUrls[0]!, upgradeRequest('/?token=x'));
    tokens.verify = verify;
    expect(res.status).toBe(500);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('INTERNAL');
    expect(body.error.correlationId).toMatch(/^gw1-e\d+$/);
    expect(res.headers['x-correlation-id']).toBe(body.error.correlationId);
    const record = log.records.find((r) => r.event === 'gateway-upgrade-failed');
    expect(record?.fields.correlationId).toBe(body.error.correlationId);
    expect(String(record?.fields.error)).toContain('planned failure in verify');
    expect(record?.fields.path).toBe('/'); // the query (a token) is not logged
    await h.connect('carol');
  });
});

/** The real store, except that a message with the body "poison" can never be written. */
class PoisonedStore extends MemoryMessageStore {
  override async append(input: AppendInput): Promise<AppendResult> {
    if (input.body === 'poison') throw new Error('planned store failure for this body');
    return super.append(input);
  }
}

describe('a frame whose processing always fails is dead-lettered (issue 15, findings 1 and 9)', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('after poisonAttemptsMax attempts the sender gets FRAME_FAILED with the correlation id of the log record, and its next frames go through', async () => {
    const time = new ManualTime();
    const log = new MemoryLog();
    const queue = new MemoryInboundQueue({ timers: time, poisonAttemptsMax: 4 });
    h = await startHarness({ time, log, gateways: 1, backends: { queue, store: new PoisonedStore() } });
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    alice.send({ type: 'send', chat, clientMsgId: 'p1', body: 'poison' });
    alice.send({ type: 'send', chat, clientMsgId: 'ok1', body: 'fine' });
    const error = await alice.until(() => {
      time.advance(50); // the back-off runs on the cluster's (virtual) timers
      return alice.frames.find((f) => f.type === 'error');
    });
    expect(error).toMatchObject({ code: 'FRAME_FAILED', ref: 'p1' });
    const correlationId = error.correlationId as string;
    expect(correlationId).toMatch(/^dl-\d+$/);
    const record = log.records.find((r) => r.event === 'queue-dead-letter');
    expect(record?.fields).toMatchObject({ correlationId, attempts: 4, user: 'alice' });
    expect(String(record?.fields.reason)).toContain('planned store failure');
    expect(JSON.stringify(record)).not.toContain('poison'); // the frame's text (a private message) is not logged
    // The lane moved on: the frame behind the poison was processed, and new ones are too.
    await bob.next((f) => f.type === 'message' && f.clientMsgId === 'ok1');
    alice.send({ type: 'send', chat, clientMsgId: 'ok2', body: 'still fine' });
    await bob.next((f) => f.type === 'message' && f.clientMsgId === 'ok2');
    expect(await queue.deadLetters(10)).toMatchObject([{ correlationId, attempts: 4 }]);
    expect((await h.api('GET', '/v1/health')).status).toBe(200);
  });
});

describe('protocol conformance at the gateway (issue 15, finding 8)', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('a binary frame is refused with BAD_FRAME and never processed: a binary ping is not answered, UTF-8 in a binary frame is not stored', async () => {
    h = await startHarness({ gateways: 1 });
    const chat = await h.createChat('alice', 'direct', ['bob']);
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    alice.sendRaw(Buffer.from('{"type":"ping"}'));
    const first = await alice.next((f) => f.type === 'error');
    expect(first.code).toBe('BAD_FRAME');
    alice.sendRaw(Buffer.from(JSON.stringify({ type: 'send', chat, clientMsgId: 'bin', body: 'héllo ✓' }), 'utf8'));
    await alice.until(() => (alice.ofType('error').length === 2 ? true : undefined));
    alice.send({ type: 'send', chat, clientMsgId: 'text', body: 'héllo ✓' });
    const message = await bob.next((f) => f.type === 'message');
    expect(message).toMatchObject({ clientMsgId: 'text', body: 'héllo ✓' });
    expect(alice.ofType('pong')).toEqual([]);
    expect(alice.ofType('error').map((e) => e.code)).toEqual(['BAD_FRAME', 'BAD_FRAME']);
    expect(alice.frames.some((f) => f.type === 'sent' && f.ref === 'bin')).toBe(false);
    expect(alice.closeCode).toBeUndefined();
  });

  it('WebSocket ping control frames count as liveness: a client that only pings is not closed for silence', async () => {
    h = await startHarness({ gateways: 1 });
    const alice = await h.connect('alice');
    const timeoutMs = h.cluster.limits.heartbeatTimeoutMs;
    for (let i = 0; i < 6; i++) {
      if (alice.closeCode !== undefined) break; // before the fix: closed with 4408 at the second round
      const ponged = new Promise<void>((resolve) => alice.ws.once('pong', () => resolve()));
      alice.ws.ping(); // what a client library's keep-alive sends; no text frame at all
      await ponged;
      await new Promise((r) => setTimeout(r, 20)); // the gateway saw the ping before the pong left
      h.time.advance(timeoutMs / 2);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(alice.closeCode).toBeUndefined();
    // A client that stays silent is still closed (the sweep works).
    h.time.advance(timeoutMs + 2_000);
    await alice.until(() => alice.closeCode);
  });
});
