import { describe, expect, it } from 'vitest';
import { validateFrame } from '../../server/chat/validateFrame.ts';
import { JSON_DEPTH_MAX, nestingDepthExceeds, parseJsonBounded } from '../../server/protocol/boundedJson.ts';
import { resolveLimits } from '../../server/protocol/limits.ts';

const limits = resolveLimits();
const nested = (depth: number, inner = '0'): string => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('validateFrame is total (issue 15, finding 1)', () => {
  it('a type nested 5,000 deep is a coded error, not a RangeError', () => {
    // Before the fix: the UNKNOWN_TYPE message did JSON.stringify(f.type), which overflowed the stack.
    const text = `{"type":${nested(5_000)}}`;
    let result: ReturnType<typeof validateFrame> | undefined;
    expect(() => { result = validateFrame(text, limits); }).not.toThrow();
    expect(result).toMatchObject({ ok: false, code: 'BAD_FRAME' });
  });

  it('deep nesting in any field of any frame type is refused with BAD_FRAME and never throws', () => {
    const deep = nested(20_000);
    const frames = [
      `{"type":"send","chat":${deep},"clientMsgId":"m1","body":"x"}`,
      `{"type":"send","chat":"c","clientMsgId":${deep},"body":"x"}`,
      `{"type":"send","chat":"c","clientMsgId":"m1","body":${deep}}`,
      `{"type":"sync","id":"s","chats":{"c":${deep}}}`,
      `{"type":"presence_query","id":"p","users":${deep}}`,
      `{"type":"ping","x":${deep}}`,
      deep,
      `{"a":{"b":${'{"c":'.repeat(10_000)}1${'}'.repeat(10_000)}}}`,
    ];
    for (const text of frames) expect(validateFrame(text, limits), text.slice(0, 60)).toMatchObject({ ok: false, code: 'BAD_FRAME' });
  });

  it('an unknown type is named only when it is a short string; other values only by their kind', () => {
    expect(validateFrame('{"type":"teleport"}', limits)).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE', message: 'unknown frame type "teleport"' });
    const long = validateFrame(JSON.stringify({ type: 'x'.repeat(10_000) }), limits);
    expect(long.ok).toBe(false);
    if (!long.ok) expect(long.message.length).toBeLessThan(100);
    expect(validateFrame(`{"type":${nested(JSON_DEPTH_MAX - 1)}}`, limits)).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE', message: 'unknown frame type (an array)' });
    expect(validateFrame('{"type":{"a":1}}', limits)).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE', message: 'unknown frame type (an object)' });
    expect(validateFrame('{}', limits)).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE', message: 'unknown frame type (none)' });
  });
});

describe('parseJsonBounded', () => {
  it('counts depth outside strings only, and honours escapes', () => {
    expect(nestingDepthExceeds('{"a":"[[[[[[[["}', 2)).toBe(false);
    expect(nestingDepthExceeds('{"a":"\\"[[[["}', 1)).toBe(false);
    expect(nestingDepthExceeds('{"a":[[1]]}', 2)).toBe(true);
    expect(nestingDepthExceeds('{"a":[[1]]}', 3)).toBe(false);
    expect(parseJsonBounded(nested(JSON_DEPTH_MAX))).toMatchObject({ ok: true });
    expect(parseJsonBounded(nested(JSON_DEPTH_MAX + 1))).toEqual({ ok: false, reason: 'too-deep' });
    expect(parseJsonBounded('{"a":')).toEqual({ ok: false, reason: 'syntax' });
  });
});
