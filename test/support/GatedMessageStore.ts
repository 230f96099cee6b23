// The real in-memory store with a latch on append, so a test can hold a write "in flight"
// and check what the client sees before the store confirmed it.
import { MemoryMessageStore } from '../../server/memory/MemoryMessageStore.ts';
import type { AppendInput, AppendResult } from '../../server/ports/MessageStore.ts';

export class GatedMessageStore extends MemoryMessageStore {
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  readonly confirmed = new Set<string>();

  hold(): void {
    this.gate = new Promise((resolve) => { this.openGate = resolve; });
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  override async append(input: AppendInput): Promise<AppendResult> {
    if (this.gate) await this.gate;
    const result = await super.append(input);
    this.confirmed.add(input.clientMsgId);
    return result;
  }
}
