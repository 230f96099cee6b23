import type { MessageStore } from '../ports/MessageStore.ts';
import { ackBeforePersist } from './ackBeforePersist.ts';
import type { BugName, BugSet } from './BugCatalogue.ts';
import { cursorOvershoot } from './cursorOvershoot.ts';
import { ignorePresenceGaps } from './ignorePresenceGaps.ts';
import { noDedupe } from './noDedupe.ts';
import { noPresenceDebounce } from './noPresenceDebounce.ts';
import { noPresenceReregister } from './noPresenceReregister.ts';
import { presenceWallClock } from './presenceWallClock.ts';
import { readRewritesMessage } from './readRewritesMessage.ts';
import { reuseConnectionIds } from './reuseConnectionIds.ts';
import { routeToEveryGateway } from './routeToEveryGateway.ts';
import type {
  ChatServerBugContext, ChatServerParts, GatewayBugContext, GatewayParts, PresenceServiceParts, ServerBug,
} from './ServerBug.ts';
import { snowflakeIds } from './snowflakeIds.ts';
import { stalePresenceTtl } from './stalePresenceTtl.ts';
import { staleRosterCache } from './staleRosterCache.ts';
import { syncOffByOne } from './syncOffByOne.ts';
import { ticksSkipJoiners } from './ticksSkipJoiners.ts';
import { tokenSyncOffByOne } from './tokenSyncOffByOne.ts';

/** Every server bug, in catalogue order. */
export const SERVER_BUGS: readonly ServerBug[] = [
  ackBeforePersist, noDedupe, snowflakeIds, cursorOvershoot, readRewritesMessage, noPresenceDebounce, stalePresenceTtl,
  routeToEveryGateway, syncOffByOne, reuseConnectionIds, noPresenceReregister, staleRosterCache, ticksSkipJoiners,
  ignorePresenceGaps, tokenSyncOffByOne, presenceWallClock,
];

/**
 * The server bugs of one run, applied by the node assembly to the parts it is about to hand
 * over. No bug switched on: every method returns what it was given, the correct system.
 */
export class ServerBugEquipment {
  private readonly bugs: readonly ServerBug[];

  constructor(names: BugSet | readonly string[]) {
    const on = new Set<string>(names);
    this.bugs = SERVER_BUGS.filter((bug) => on.has(bug.entry.name));
  }

  get names(): BugName[] {
    return this.bugs.map((bug) => bug.entry.name);
  }

  /** Around the shared message store, in every process that opens it (store bugs). */
  store(store: MessageStore): MessageStore {
    return this.bugs.reduce((s, bug) => bug.store?.(s) ?? s, store);
  }

  chatServer(parts: ChatServerParts, context: ChatServerBugContext): ChatServerParts {
    return this.bugs.reduce((p, bug) => bug.chatServer?.(p, context) ?? p, parts);
  }

  gateway(parts: GatewayParts, context: GatewayBugContext): GatewayParts {
    return this.bugs.reduce((p, bug) => bug.gateway?.(p, context) ?? p, parts);
  }

  presenceService(parts: PresenceServiceParts): PresenceServiceParts {
    return this.bugs.reduce((p, bug) => bug.presenceService?.(p) ?? p, parts);
  }
}
