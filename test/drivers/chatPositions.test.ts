// ChatPositions: how the XMPP driver numbers a chat's messages on one device (XMPP has no shared
// per-chat seq): in the order first learnt, once per key, with the archive ids a sync resumes after.
import { describe, expect, it } from 'vitest';
import { ChatPositions } from '../../simulator/drivers/xmpp/ChatPositions.ts';

const CHAT = 'd:alice:bob';
const entry = (key: string, archiveId?: string) => (seq: number) => ({
  stanzaId: key, own: false, ...(archiveId ? { archiveId } : {}),
  message: { chat: CHAT, seq, msgId: archiveId ?? key, from: 'bob', fromDevice: 'xmpp', clientMsgId: key, body: key, ts: 0 },
});

describe('ChatPositions', () => {
  it('numbers 1, 2, 3 in the order first learnt; a key heard again keeps its position', () => {
    const p = new ChatPositions();
    expect(p.place(CHAT, 'a', entry('a')).entry.message.seq).toBe(1);
    expect(p.place(CHAT, 'b', entry('b', 'arch-b')).entry.message.seq).toBe(2);
    expect(p.place(CHAT, 'a', entry('a', 'arch-a'))).toMatchObject({ isNew: false, entry: { message: { seq: 1 } } });
    expect(p.place('d:alice:carol', 'a', entry('a')).entry.message.seq).toBe(1); // per chat
    expect(p.head(CHAT)).toBe(2);
    expect(p.seqOfStanzaId(CHAT, 'b')).toBe(2);
    expect(p.between(CHAT, 1, 2).map((e) => e.message.clientMsgId)).toEqual(['b']);
  });

  it('a sync resumes after the newest archive id at or below the position held', () => {
    const p = new ChatPositions();
    p.place(CHAT, 'a', entry('a', 'arch-a'));
    p.place(CHAT, 'b', entry('b')); // an own message acknowledged, not yet seen in the archive
    expect(p.archiveIdAtOrBelow(CHAT, 2)).toBe('arch-a');
    p.noteArchiveId(CHAT, 'b', 'arch-b');
    expect(p.archiveIdAtOrBelow(CHAT, 2)).toBe('arch-b');
    expect(p.archiveIdAtOrBelow(CHAT, 0)).toBeUndefined();
  });
});
