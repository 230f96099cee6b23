// fast-check arbitraries for what a hostile or buggy client can put in one WebSocket message:
// valid frames, mutated valid frames, a wrong type in each field, nesting to 20,000 levels in each
// field (`type` included), prototype keys as keys and ids, unicode, invalid UTF-8, binary frames,
// oversized frames and junk. Framing violations below the message level are rawWebSocket.ts's.
import fc from 'fast-check';

/** One generated WebSocket message. `payload` is a Buffer when the bytes are not a JS string's UTF-8 (invalid UTF-8). */
export interface FuzzFrame {
  /** The category, for the counts in the report. */
  kind: FrameKind;
  payload: string | Buffer;
  /** Sent with the binary opcode (2) instead of text (1). */
  binary: boolean;
}

export type FrameKind = 'valid' | 'mutated' | 'wrong-type' | 'nested' | 'prototype' | 'unicode' | 'junk' | 'binary' | 'invalid-utf8' | 'oversize' | 'oversize-hard';

/** What the generator knows of the connection that sends: ids that make frames reach real code paths. */
export interface FrameContext {
  self: string;
  /** Chats the sender belongs to. */
  chats: readonly string[];
  /** Other users (friends, strangers). */
  users: readonly string[];
  /** A chat the sender does not belong to. */
  foreignChat: string;
  /** Sizes the frame must pass or break. */
  frameBytesMax: number;
  frameBytesHardMax: number;
}

/** The deepest nesting generated; the issue asks for 20,000 in every field. */
export const NESTING_DEPTH_MAX = 20_000;
/** clientMsgIds a valid send reuses, so valid sends stop storing once each was sent once (the heap check needs that). */
export const CLIENT_MSG_ID_POOL = 8;
export const poolBody = (n: number): string => `pool message ${n}`;

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
const FIELD_NAMES = ['type', 'chat', 'clientMsgId', 'body', 'upTo', 'read', 'id', 'chats', 'token', 'epoch', 'users', 'extra'] as const;
type FieldName = (typeof FIELD_NAMES)[number];
const TYPES = ['send', 'ack', 'read', 'typing', 'sync', 'presence_query', 'ping'] as const;

/** Number texts JSON.stringify never writes: out of range, negative zero, past 2^53, exponents. */
const ODD_NUMBER_TEXTS = ['-0', '1e400', '-1e400', '9007199254740993', '1.0', '1e2', '0.5', '-1', '1E-400', '123456789012345678901234567890'];

/**
 * Every generated frame that can store a message is one of `storableFrames(ctx)` (a fixed set per
 * connection): the rest send to a chat the sender is not in. So what a run stores is bounded,
 * and once those were sent the server's heap has nothing new to hold: the heap check needs that.
 */
export function frameArbitrary(ctx: FrameContext): fc.Arbitrary<FuzzFrame> {
  const valid = validFrameText(ctx);
  return fc.oneof(
    { weight: 22, arbitrary: valid.map((payload) => frame('valid', payload)) },
    { weight: 18, arbitrary: mutated(validFrameText(ctx, false)).map((payload) => frame('mutated', payload)) },
    { weight: 15, arbitrary: wrongType(ctx).map((payload) => frame('wrong-type', payload)) },
    { weight: 10, arbitrary: nested(ctx).map((payload) => frame('nested', payload)) },
    { weight: 8, arbitrary: prototypeKeys(ctx).map((payload) => frame('prototype', payload)) },
    { weight: 8, arbitrary: unicode(ctx).map((payload) => frame('unicode', payload)) },
    { weight: 6, arbitrary: junk().map((payload) => frame('junk', payload)) },
    { weight: 6, arbitrary: binary(valid).map((payload) => ({ kind: 'binary' as const, payload, binary: true })) },
    { weight: 1, arbitrary: invalidUtf8(valid).map((payload) => frame('invalid-utf8', payload)) },
    { weight: 1, arbitrary: oversize(ctx) },
  );
}

function frame(kind: FrameKind, payload: string | Buffer): FuzzFrame {
  return { kind, payload, binary: false };
}

/** Frames the server must accept as protocol v1 (they may still fail on membership or range, with a documented error). */
export function validFrameText(ctx: FrameContext, sendToMembers = true): fc.Arbitrary<string> {
  const chat = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ctx.chats) }, { weight: 1, arbitrary: fc.constant(ctx.foreignChat) });
  const seq = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(0));
  const poolSend = fc.tuple(sendToMembers ? chat : fc.constant(ctx.foreignChat), fc.integer({ min: 0, max: CLIENT_MSG_ID_POOL - 1 }), fc.integer({ min: 0, max: 9 }))
    .map(([c, n, odd]) => ({ type: 'send', chat: c, clientMsgId: `p${n}`, body: odd === 0 ? `another body ${n}` : poolBody(n) }));
  const users = fc.array(fc.oneof(fc.constantFrom(...ctx.users, ctx.self), fc.string({ minLength: 1, maxLength: 8 })), { maxLength: 6 });
  const request = fc.string({ minLength: 1, maxLength: 16 });
  const frames = fc.oneof(
    { weight: 3, arbitrary: poolSend },
    { weight: 2, arbitrary: fc.record({ type: fc.constantFrom('ack', 'read'), chat, upTo: seq }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('typing'), chat, read: fc.option(seq, { nil: undefined }) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('sync'), id: request, chats: fc.dictionary(chat, seq, { maxKeys: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('sync'), id: request, token: fc.constantFrom('', 'bWVtLTF8NA', 'not a token', 'bWVtLTF8LTE') }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('sync'), id: request, chats: fc.constant({}), epoch: fc.constantFrom('mem-1', 'old-epoch', '') }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('presence_query'), id: request, users }) },
    { weight: 2, arbitrary: fc.constantFrom({ type: 'ping' }, { type: 'ping', extra: 1 }) },
  );
  // A ping spelled with spaces is not the gateway's exact text: a chat server answers it.
  return fc.tuple(frames, fc.boolean()).map(([f, spaced]) => (f.type === 'ping' && Object.keys(f).length === 1 && spaced ? '{ "type": "ping" }' : JSON.stringify(f)));
}

/** Byte-level edits of a valid frame: cut, insert, duplicate, replace, truncate. */
function mutated(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const insert = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', '\\u0000', '\\ud800', 'null', '-', '.', 'e9', ' '));
  return fc.tuple(valid, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 4 }), insert).map(([text, a, b, op, piece]) => {
    const i = a % (text.length + 1);
    const j = Math.min(text.length, i + (b % 8));
    switch (op) {
      case 0: return text.slice(0, i) + text.slice(j);
      case 1: return text.slice(0, i) + piece + text.slice(i);
      case 2: return text.slice(0, j) + text.slice(i, j) + text.slice(j);
      case 3: return text.slice(0, i) + piece + text.slice(j);
      default: return text.slice(0, i);
    }
  });
}

/** A well-formed frame of a known type with one field (any of them, `type` included) of a wrong type or range. */
function wrongType(ctx: FrameContext): fc.Arbitrary<string> {
  const wrongValue = fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, Number.MAX_VALUE, '', [], {}, [[]], { a: {} }, 'x'.repeat(129), 'x'.repeat(513)),
    fc.integer(), fc.double({ noNaN: true }), fc.string({ maxLength: 20 }),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  ).map((v) => JSON.stringify(v));
  const value = fc.oneof({ weight: 5, arbitrary: wrongValue }, { weight: 1, arbitrary: fc.constantFrom(...ODD_NUMBER_TEXTS) });
  return fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...FIELD_NAMES), value).map(([type, field, text]) => withField(ctx, type, field, text));
}

/** One field (or the whole frame) holding arrays or objects nested up to NESTING_DEPTH_MAX deep. */
function nested(ctx: FrameContext): fc.Arbitrary<string> {
  const depth = fc.oneof(fc.constantFrom(NESTING_DEPTH_MAX, 10_000, 5_000, 4_000, 1_000, 100), fc.integer({ min: 1, max: NESTING_DEPTH_MAX }));
  const style = fc.constantFrom('array', 'array', 'object', 'mixed');
  return fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom<FieldName | 'frame'>(...FIELD_NAMES, 'frame'), depth, style).map(([type, field, d, s]) => {
    const value = nest(d, s, ctx.frameBytesMax);
    return field === 'frame' ? value : withField(ctx, type, field, value);
  });
}

/**
 * JSON nested `depth` deep. Arrays take 2 bytes a level, so 20,000 levels fit the frame limit;
 * objects take 6, so they are capped to stay under `bytesMax` (past it the gateway drops the
 * frame unread, which tests less).
 */
export function nest(depth: number, style: string, bytesMax = Infinity): string {
  if (style === 'array') return '['.repeat(depth) + '0' + ']'.repeat(depth);
  const perLevel = style === 'object' ? 6 : 4;
  const d = Math.max(1, Math.min(depth, Math.floor((bytesMax - 200) / perLevel)));
  if (style === 'object') return '{"a":'.repeat(d) + '0' + '}'.repeat(d);
  return '[{"":'.repeat(Math.floor(d / 2)) + '0' + '}]'.repeat(Math.floor(d / 2));
}

/** `__proto__`, `constructor` and friends as keys, as ids, as the type. */
function prototypeKeys(ctx: FrameContext): fc.Arbitrary<string> {
  const key = fc.constantFrom(...PROTOTYPE_KEYS);
  return fc.tuple(key, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 5 }), fc.constantFrom(...ctx.chats)).map(([k, variant, n, chat]) => {
    const q = JSON.stringify(k);
    switch (variant) {
      case 0: return `{"type":${q}}`;
      case 1: return `{${q}:{"type":"send"},"type":"ping"}`;
      case 2: return `{"type":"sync","id":${q},"chats":{${q}:${n},"constructor":0,"prototype":1,${JSON.stringify(chat)}:0}}`;
      case 3: return `{"type":"send","chat":${q},"clientMsgId":${q},"body":${q}}`;
      case 4: return `{"type":"ack","chat":${q},"upTo":${n}}`;
      case 5: return `{"type":"presence_query","id":${q},"users":[${q},"constructor","__proto__"]}`;
      case 6: return `{"type":"send","chat":${JSON.stringify(chat)},"clientMsgId":${q},"body":"proto ${k}"}`;
      case 7: return `{"type":"sync","id":"p","chats":{"__proto__":{"__proto__":null}}}`;
      case 8: return `{"__proto__":{"type":"send","chat":${JSON.stringify(chat)}},"type":"typing","chat":${q}}`;
      default: return `{"type":"typing","chat":${JSON.stringify(chat)},"read":{"__proto__":${n}}}`;
    }
  });
}

/** Any code point in ids, bodies and the type; lone surrogates and NUL as JSON escapes; a BOM. */
function unicode(ctx: FrameContext): fc.Arbitrary<string> {
  const any = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
  const special = fc.constantFrom(...SPECIAL_TEXTS);
  const piece = fc.oneof(any.map((s) => JSON.stringify(s).slice(1, -1)), special);
  const anywhere = fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom<FieldName>('type', 'chat', 'clientMsgId', 'body', 'id', 'token', 'epoch', 'users'), piece, fc.boolean())
    .map(([type, field, text, bom]) => {
      const value = field === 'users' ? `["${text}"]` : `"${text}"`;
      return (bom ? '\ufeff' : '') + withField(ctx, type, field, value);
    });
  // Stored for real: a special clientMsgId and body in a chat of the sender's (a fixed set, see storableFrames).
  const stored = fc.tuple(fc.constantFrom(...ctx.chats), special, special).map(([chat, id, body]) => `{"type":"send","chat":${JSON.stringify(chat)},"clientMsgId":"${id}","body":"${body}"}`);
  return fc.oneof({ weight: 4, arbitrary: anywhere }, { weight: 1, arbitrary: stored });
}

/** JSON string contents (escapes as written): lone surrogates, NUL, a terminal escape, bidi and zero-width marks, a BOM, a family emoji. */
const SPECIAL_TEXTS = ['\\ud800', '\\udfff\\ud800', '\\u0000', '\\u001b[2J', '\u202e', '\u200b', '\ufeff', '👩‍👩‍👧‍👦', 'é'.repeat(70), '\uffff'];

/**
 * The frames of frameArbitrary(ctx) that can store a message: each once, in each chat of the
 * sender. A run that sends these first stores nothing new after them (later copies are
 * retries, or reuse a clientMsgId with another body).
 */
export function storableFrames(ctx: FrameContext): string[] {
  const out: string[] = [];
  for (const chat of ctx.chats) {
    const c = JSON.stringify(chat);
    for (let n = 0; n < CLIENT_MSG_ID_POOL; n++) out.push(`{"type":"send","chat":${c},"clientMsgId":"p${n}","body":"${poolBody(n)}"}`);
    for (const k of PROTOTYPE_KEYS) out.push(`{"type":"send","chat":${c},"clientMsgId":${JSON.stringify(k)},"body":"proto ${k}"}`);
    for (const t of SPECIAL_TEXTS) out.push(`{"type":"send","chat":${c},"clientMsgId":"${t}","body":"${SPECIAL_TEXTS[0]}"}`);
  }
  return out;
}

function junk(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.string({ maxLength: 64 }),
    fc.constantFrom('', ' ', '\n', '{}', '[]', 'null', '{"type":null}', '{"type":""}', '{"type":1}', '{"type":["ping"]}', '"ping"', '{"type":"ping"}{"type":"ping"}', '{"type":"ping",}', '{"type":"hello"}', '{"type":"sent"}', '{"type":"error"}'),
  );
}

/** Binary frames: valid frames, the exact ping, UTF-8 text, random bytes. */
function binary(valid: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    valid.map((t) => Buffer.from(t, 'utf8')),
    fc.constant(Buffer.from('{"type":"ping"}')),
    fc.constant(Buffer.from('{"type":"send","chat":"x","clientMsgId":"é","body":"ünïcödé"}', 'utf8')),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  );
}

/** Text frames whose bytes are not UTF-8 (the WebSocket layer must refuse them, 1007). */
function invalidUtf8(valid: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  const bad = fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf4, 0x90, 0x80, 0x80]);
  return fc.tuple(valid, bad, fc.nat()).map(([text, bytes, at]) => {
    const b = Buffer.from(text, 'utf8');
    const i = at % (b.length + 1);
    return Buffer.concat([b.subarray(0, i), Buffer.from(bytes), b.subarray(i)]);
  });
}

/** Past frameBytesMax (dropped with FRAME_TOO_LARGE), rarely past frameBytesHardMax (closed 1009). */
function oversize(ctx: FrameContext): fc.Arbitrary<FuzzFrame> {
  return fc.integer({ min: 0, max: 19 }).map((n) => {
    const hard = n === 0;
    const bytes = hard ? ctx.frameBytesHardMax + 1 : ctx.frameBytesMax + 1 + n * 97;
    const head = `{"type":"send","chat":${JSON.stringify(ctx.chats[0])},"clientMsgId":"big","body":"`;
    return { kind: hard ? 'oversize-hard' : 'oversize', payload: head + 'x'.repeat(bytes - head.length - 2) + '"}', binary: false };
  });
}

/**
 * A frame of `type` with realistic fields, with `field` (added if absent) holding the raw JSON
 * `valueText`. A send goes to a chat the sender is not in, so an odd clientMsgId is never stored.
 */
function withField(ctx: FrameContext, type: string, field: FieldName, valueText: string): string {
  const chat = JSON.stringify(ctx.chats[0]);
  const base: Array<[string, string]> = [['type', JSON.stringify(type)]];
  if (type === 'send') base.push(['chat', JSON.stringify(ctx.foreignChat)], ['clientMsgId', '"w1"'], ['body', '"hello"']);
  if (type === 'ack' || type === 'read') base.push(['chat', chat], ['upTo', '0']);
  if (type === 'typing') base.push(['chat', chat], ['read', '0']);
  if (type === 'sync') base.push(['id', '"s1"'], ['chats', `{${chat}:0}`]);
  if (type === 'presence_query') base.push(['id', '"q1"'], ['users', JSON.stringify(ctx.users.slice(0, 2))]);
  const at = base.findIndex(([k]) => k === field);
  if (at >= 0) base[at] = [field, valueText];
  else base.push([field, valueText]);
  return `{${base.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}
