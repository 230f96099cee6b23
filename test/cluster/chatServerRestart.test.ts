import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';

describe('restarting every chat server mid-conversation', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  for (const crash of [false, true]) {
    it(`closes no WebSocket, loses no acknowledged message and stores none twice (${crash ? 'crash' : 'graceful'})`, async () => {
      h = await startHarness({ chatServers: 3 });
      const chat = await h.createChat('alice', 'direct', ['bob']);
      const alice = await h.connect('alice', { gateway: 0 });
      const bob = await h.connect('bob', { gateway: 1 });
      const total = 60;
      for (let i = 1; i <= total; i++) {
        alice.send({ type: 'send', chat, clientMsgId: `r${i}`, body: `msg ${i}` });
        bob.send({ type: 'ack', chat, upTo: 0 });
        if (i % 20 === 0) await h.cluster.restartChatServers({ crash });
        await settle(2);
      }
      await alice.until(() => (new Set(alice.ofType('sent').map((f) => f.ref)).size === total ? true : undefined), 10_000);
      await bob.until(() => (new Set(bob.ofType('message').map((f) => f.seq)).size === total ? true : undefined), 10_000);

      expect(alice.closeCode).toBeUndefined();
      expect(bob.closeCode).toBeUndefined();
      const page = await h.cluster.backends.store.readChat(chat, 0, 1000);
      expect(page.messages.map((m) => m.clientMsgId).sort()).toEqual(Array.from({ length: total }, (_, i) => `r${i + 1}`).sort());
      expect(page.headSeq).toBe(total);
      // Each acknowledged message has exactly one seq, and bob holds every one of them.
      const ackedSeqs = new Map(alice.ofType('sent').map((f) => [f.ref, f.seq]));
      expect(ackedSeqs.size).toBe(total);
      const received = new Set(bob.ofType('message').map((f) => f.seq));
      for (const seq of ackedSeqs.values()) expect(received.has(seq)).toBe(true);
      // A graceful restart finishes every frame under way: nothing is processed twice.
      if (!crash) expect(bob.ofType('message')).toHaveLength(total);
      await settle(20);
    });
  }
});
