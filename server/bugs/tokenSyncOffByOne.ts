import type { InboxPage } from '../ports/MessageStore.ts';
import { PassThroughMessageStore } from './PassThroughMessageStore.ts';
import type { ServerBug } from './ServerBug.ts';

/** Bug 'token-sync-off-by-one' as a store wrapper: an inbox read after a non-zero position starts one further. */
export class OffByOneInboxReads extends PassThroughMessageStore {
  override readInbox(userId: string, afterPosition: number, limit: number): Promise<InboxPage> {
    return this.inner.readInbox(userId, afterPosition > 0 ? afterPosition + 1 : afterPosition, limit);
  }
}

export const tokenSyncOffByOne: ServerBug = {
  entry: {
    name: 'token-sync-off-by-one', where: 'server', breaks: ['C2'],
    description: 'Token sync reads the inbox from one past the token\'s position, so the first event after every non-empty token falls between two tokens (devices that sync by token: population.tokenSyncShare).',
  },
  chatServer: (parts) => ({ ...parts, store: new OffByOneInboxReads(parts.store) }),
};
