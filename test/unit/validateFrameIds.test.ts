// Issue 15, finding 7: frame validation applies the one id rule, and the watermarks of a sync
// are a map without a prototype (no id reads as an inherited member).
import { describe, expect, it } from 'vitest';
import { validateFrame } from '../../server/chat/validateFrame.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

const limits = resolveLimits();

describe('validateFrame and ids', () => {
  it('refuses chat ids that break the rule: control characters, no g:/d: form, Object.prototype names', () => {
    for (const chat of ['__proto__', 'constructor', 'plain', 'g:', 'g:a b', 'g:\u0000', 'd:a', 'd:a:b:c', 'g:\u001b[2J']) {
      const result = validateFrame(JSON.stringify({ type: 'send', chat, clientMsgId: 'c1', body: 'x' }), limits);
      expect(result.ok, JSON.stringify(chat)).toBe(false);
      if (!result.ok) expect(result.code).toBe('INVALID_FIELD');
    }
    for (const chat of ['g:team-1', 'd:alice:bob', 'g:abcdefghijkl']) {
      expect(validateFrame(JSON.stringify({ type: 'send', chat, clientMsgId: 'c1', body: 'x' }), limits).ok, chat).toBe(true);
    }
  });

  it('refuses presence queries for ids that break the rule', () => {
    const result = validateFrame(JSON.stringify({ type: 'presence_query', id: 'q', users: ['alice', 'bad\u0007'] }), limits);
    expect(result.ok).toBe(false);
  });

  it('gives the watermarks of a sync no prototype, and refuses a __proto__ key', () => {
    const ok = validateFrame('{"type":"sync","id":"s","chats":{"g:a":3,"d:x:y":0}}', limits);
    expect(ok.ok).toBe(true);
    if (ok.ok && ok.frame.type === 'sync') {
      expect(Object.getPrototypeOf(ok.frame.chats)).toBeNull();
      expect({ ...ok.frame.chats }).toEqual({ 'g:a': 3, 'd:x:y': 0 });
    }
    const proto = validateFrame('{"type":"sync","id":"s","chats":{"__proto__":3}}', limits);
    expect(proto.ok).toBe(false);
  });
});
