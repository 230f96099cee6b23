import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import type { TestClient} from '../support/TestClient.ts';
import { settle } from '../support/TestClient.ts';

const limits = { frameBytesMax: 4096, bodyBytesMax: 1024, framesPerSecondMax: 20, framesBurstMax: 20, rateLimitDropsBeforeCloseMax: 1000 };

describe('bad input gets its documented code and harms nobody else', () => {
  let h: Harness;
  let chat: string;
  let bystander: TestClient;
  let peer: TestClient;

  beforeEach(async () => {
    h = await startHarness({ limits });
    chat = await h.createChat('peer', 'direct', ['bystander']);
    await h.createChat('mallory', 'direct', ['eve']);
    bystander = await h.connect('bystander', { gateway: 0 });
    peer = await h.connect('peer', { gateway: 0 });
  });
  afterEach(async () => h.stop());

  /** After each bad input: the server is healthy and an unrelated conversation still works. */
  async function expectBystanderUnaffected(tag: string): Promise<void> {
    peer.send({ type: 'send', chat, clientMsgId: `ok-${tag}`, body: 'still fine' });
    await bystander.next((f) => f.type === 'message' && f.clientMsgId === `ok-${tag}`);
    expect((await h.api('GET', '/v1/health')).status).toBe(200);
    expect(bystander.closeCode).toBeUndefined();
  }

  const frameCases: Array<[string, string, string]> = [
    ['malformed JSON', '{"type":"send",', 'BAD_FRAME'],
    ['a JSON array', '[1,2,3]', 'BAD_FRAME'],
    ['unknown frame type', '{"type":"teleport","id":"x1"}', 'UNKNOWN_TYPE'],
    ['a type nested 2,000 deep (issue 15: deeper ones overflowed the stack)', `{"type":${'['.repeat(2000)}${']'.repeat(2000)}}`, 'BAD_FRAME'],
    ['a body nested 600 deep', `{"type":"send","chat":"c","clientMsgId":"deep","body":${'{"a":'.repeat(600)}1${'}'.repeat(600)}}`, 'BAD_FRAME'],
    ['missing field', '{"type":"send","chat":"c","body":"no id"}', 'INVALID_FIELD'],
    ['oversized frame', JSON.stringify({ type: 'send', chat: 'c', clientMsgId: 'big', body: 'x'.repeat(5000) }), 'FRAME_TOO_LARGE'],
    ['oversized body', JSON.stringify({ type: 'send', chat: 'g:c', clientMsgId: 'body', body: 'é'.repeat(600) }), 'BODY_TOO_LARGE'],
    ['send to a chat the user is not in', '', 'NOT_MEMBER'],
    ['send to an unknown chat', '{"type":"send","chat":"g:no-such-chat","clientMsgId":"u1","body":"hi"}', 'NOT_MEMBER'],
    ['receipt past the head', '', 'CURSOR_AHEAD'],
  ];

  for (const [name, text, code] of frameCases) {
    it(`${name} -> ${code}`, async () => {
      const mallory = await h.connect('mallory', { gateway: 0 });
      const frame = text !== '' ? text
        : code === 'NOT_MEMBER' ? JSON.stringify({ type: 'send', chat, clientMsgId: 'intrude', body: 'let me in' })
          : JSON.stringify({ type: 'ack', chat: (await h.api('GET', '/v1/chats', undefined, await h.login('mallory'))).body.chats[0].id, upTo: 99 });
      mallory.sendRaw(frame);
      const error = await mallory.next((f) => f.type === 'error');
      expect(error.code).toBe(code);
      expect(typeof error.message).toBe('string');
      expect(mallory.closeCode).toBeUndefined();
      await expectBystanderUnaffected(name);
      // Nothing leaked into the conversation mallory is not in.
      expect(bystander.ofType('message').every((m) => m.from === 'peer')).toBe(true);
    });
  }

  it('a bad token is refused at the upgrade with 401, an expired one too', async () => {
    const status = (token: string): Promise<number> => new Promise((resolve) => {
      const ws = new WebSocket(`${h.gatewayUrls[0]}/?token=${token}`, 'chatsim.v1');
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(await status('not-a-token')).toBe(401);
    const token = await h.login('mallory');
    expect(await status(token.slice(0, -2) + 'xx')).toBe(401);
    h.time.advance(h.cluster.limits.tokenTtlMs + 1);
    expect(await status(token)).toBe(401);
    expect((await h.api('GET', '/v1/health')).status).toBe(200);
  });

  it('a client without the chatsim.v1 subprotocol is refused with 400', async () => {
    const token = await h.login('mallory');
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${h.gatewayUrls[0]}/?token=${token}`, 'other.v9');
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(code).toBe(400);
    await expectBystanderUnaffected('subprotocol');
  });

  it('a flood over the rate limit gets RATE_LIMITED for the excess, and the frames within the limit are kept', async () => {
    const mallory = await h.connect('mallory', { gateway: 0 });
    const malloryChat = (await h.api('GET', '/v1/chats', undefined, await h.login('mallory'))).body.chats[0].id;
    for (let i = 0; i < 60; i++) mallory.send({ type: 'send', chat: malloryChat, clientMsgId: `f${i}`, body: 'flood' });
    await mallory.until(() => (mallory.ofType('sent').length + mallory.ofType('error').length >= 60 ? true : undefined));
    const limited = mallory.ofType('error').filter((e) => e.code === 'RATE_LIMITED');
    // Fake time stands still, so exactly the burst passes and every other frame is refused.
    expect(mallory.ofType('sent')).toHaveLength(limits.framesBurstMax);
    expect(limited).toHaveLength(60 - limits.framesBurstMax);
    expect(await h.cluster.backends.store.headSeq(malloryChat)).toBe(limits.framesBurstMax);
    expect(mallory.closeCode).toBeUndefined();
    await expectBystanderUnaffected('flood');
  });

  it('a sustained flood past the drop budget is disconnected with 4429, others carry on', async () => {
    await h.stop();
    h = await startHarness({ limits: { ...limits, rateLimitDropsBeforeCloseMax: 10 } });
    chat = await h.createChat('peer', 'direct', ['bystander']);
    bystander = await h.connect('bystander', { gateway: 0 });
    peer = await h.connect('peer', { gateway: 0 });
    const mallory = await h.connect('mallory', { gateway: 0 });
    for (let i = 0; i < 100; i++) mallory.sendRaw('{"type":"presence_query","id":"q","users":[]}');
    expect(await mallory.waitClosed()).toBe(4429);
    await expectBystanderUnaffected('flood-close');
  });

  it('a frame past the hard limit closes only that connection with 1009', async () => {
    const mallory = await h.connect('mallory', { gateway: 0 });
    mallory.sendRaw('x'.repeat(h.cluster.limits.frameBytesHardMax + 10));
    expect(await mallory.waitClosed()).toBe(1009);
    await expectBystanderUnaffected('hard-limit');
    await settle(10);
  });
});
