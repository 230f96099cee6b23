import type { MessageStore } from '../../server/ports/MessageStore.ts';

const PAGE_MESSAGES_MAX = 1000;

/**
 * Store ground truth for B2 (sent implies persisted): the seqs the message store holds for each
 * chat after the run, read page by page. Only possible when chatsim started the cluster itself
 * (with `--target` the store is not ours to read).
 */
export async function readPersisted(store: MessageStore, chatIds: Iterable<string>): Promise<Map<string, Set<number>>> {
  const persisted = new Map<string, Set<number>>();
  for (const chatId of chatIds) {
    const seqs = new Set<number>();
    let afterSeq = 0;
    for (;;) {
      const page = await store.readChat(chatId, afterSeq, PAGE_MESSAGES_MAX);
      for (const m of page.messages) seqs.add(m.seq);
      if (!page.hasMore || page.messages.length === 0) break;
      afterSeq = page.messages[page.messages.length - 1]!.seq;
    }
    persisted.set(chatId, seqs);
  }
  return persisted;
}

/** Seqs as sorted inclusive ranges, compact for run.json (a store's seqs are mostly contiguous). */
export function seqsToRanges(seqs: Set<number>): Array<[number, number]> {
  const sorted = [...seqs].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const seq of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && seq === last[1] + 1) last[1] = seq;
    else ranges.push([seq, seq]);
  }
  return ranges;
}

export function rangesToSeqs(ranges: Array<[number, number]>): Set<number> {
  const seqs = new Set<number>();
  for (const [from, to] of ranges) for (let seq = from; seq <= to; seq++) seqs.add(seq);
  return seqs;
}
