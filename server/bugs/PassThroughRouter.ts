import type { ChatRouter } from '../chat/Router.ts';
import type { ChatRecord } from '../ports/Directory.ts';
import type { PresenceStamp } from '../protocol/envelopes.ts';

/** A ChatRouter that hands every call to `inner`: the base of the routing bugs. */
export class PassThroughRouter implements ChatRouter {
  constructor(protected readonly inner: ChatRouter) {}

  toMembers(chat: ChatRecord, frame: string, exceptConnection?: string): Promise<void> {
    return this.inner.toMembers(chat, frame, exceptConnection);
  }

  toUsers(userIds: readonly string[], frame: string, exceptConnection?: string, stamp?: (gatewayId: string) => PresenceStamp): Promise<void> {
    return this.inner.toUsers(userIds, frame, exceptConnection, stamp);
  }

  toConnection(gatewayId: string, connectionId: string, frame: string): Promise<void> {
    return this.inner.toConnection(gatewayId, connectionId, frame);
  }
}
