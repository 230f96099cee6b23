// The byte cut of sync results (server/chat/syncPages.ts), on bodies whose JSON is much larger
// than their text (control characters escape to six bytes, non-ASCII takes two to four): the
// result is measured as sent, fits the limit, and is as full as the limit allows.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toMessageFrame } from '../../server/chat/ChatServer.ts';
import { eventsThatFit, fitWatermarkResult } from '../../server/chat/syncPages.ts';
import type { StoredMessage } from '../../server/ports/MessageStore.ts';
import type { SyncChatResult } from '../../server/protocol/frames.ts';

/** Measured here, not with the module's own helper: what the gateway would send, in bytes. */
const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

const body = fc.array(fc.constantFrom('a', '\u0001', '"', 'é', '😀', '\\'), { maxLength: 400, size: 'max' }).map((cs) => cs.join(''));

function message(chatId: string, seq: number, text: string): StoredMessage {
  return { chatId, seq, msgId: `m${seq}`, senderId: 'alice', senderDeviceId: 'd1', clientMsgId: `c${seq}`, body: text, sentAtMs: 1 };
}

describe('fitWatermarkResult', () => {
  it('fits the limit exactly, keeps a prefix chat by chat, and keeps at least one message', () => {
    fc.assert(fc.property(fc.array(fc.array(body, { maxLength: 6 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 200, max: 6000 }), (chats, limit) => {
      const results: SyncChatResult[] = chats.map((bodies, i) => ({
        chat: `c${i}`, messages: bodies.map((b, k) => toMessageFrame(message(`c${i}`, k + 1, b))), head: bodies.length, hasMore: false, receipts: [],
      }));
      const frame = { type: 'sync_result' as const, ref: 'r', epoch: 'e', hasMore: false, chats: results };
      const fitted = fitWatermarkResult(frame, limit);
      const kept = fitted.chats.flatMap((c) => c.messages);
      const all = results.flatMap((c) => c.messages);
      // A prefix of the messages in order, chat by chat.
      expect(kept).toEqual(all.slice(0, kept.length));
      if (all.length > 0) expect(kept.length).toBeGreaterThanOrEqual(1);
      // Over the limit only with a single message that does not fit alone.
      if (kept.length > 1) expect(jsonBytes(fitted)).toBeLessThanOrEqual(limit);
      // Full: one more message would not have fitted.
      if (kept.length < all.length) {
        expect(fitted.hasMore).toBe(true);
        let count = 0;
        const grown = { ...frame, chats: frame.chats.map((c) => ({ ...c, messages: c.messages.filter(() => count++ <= kept.length) })) };
        expect(jsonBytes(grown)).toBeGreaterThan(limit);
        for (const c of fitted.chats) if (c.messages.length < results.find((r) => r.chat === c.chat)!.messages.length) expect(c.hasMore).toBe(true);
      } else {
        expect(fitted).toEqual(frame);
      }
    }));
  });
});

describe('eventsThatFit', () => {
  it('counts the events that fit with the frame, at least one', () => {
    fc.assert(fc.property(fc.array(body, { maxLength: 8 }), fc.integer({ min: 100, max: 4000 }), (bodies, limit) => {
      const events = bodies.map((b, i) => ({ position: i + 1, event: { kind: 'message' as const, message: message('c', i + 1, b) } }));
      const frame = { type: 'sync_result', ref: 'r', epoch: 'e', hasMore: false, events: [] as typeof events, token: 'dG9rZW4' };
      const n = eventsThatFit(frame, events, limit);
      if (events.length > 0) expect(n).toBeGreaterThanOrEqual(1);
      if (n > 1) expect(jsonBytes({ ...frame, events: events.slice(0, n) })).toBeLessThanOrEqual(limit);
      if (n < events.length) expect(jsonBytes({ ...frame, events: events.slice(0, n + 1) })).toBeGreaterThan(limit);
    }));
  });
});
