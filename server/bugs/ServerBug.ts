import type { Broker } from '../ports/Broker.ts';
import type { Clock, Timers } from '../ports/Clock.ts';
import type { Directory } from '../ports/Directory.ts';
import type { MessageStore } from '../ports/MessageStore.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import type { ChatRouter } from '../chat/Router.ts';
import type { BugEntry } from './BugCatalogue.ts';

/** The ports of one chat server a bug may replace, as the node assembly is about to hand them over. */
export interface ChatServerParts {
  clock: Clock;
  broker: Broker;
  store: MessageStore;
  presence: PresenceStore;
  router: ChatRouter;
}

/** What a chat server bug may use besides the parts (never given to the chat server itself). */
export interface ChatServerBugContext {
  id: string;
  timers: Timers;
  directory: Directory;
  /** Every gateway's id (the route-to-every-gateway bug publishes to them all). */
  gatewayIds(): readonly string[];
  /** Registers work for when this chat server stops or crashes (its process memory is gone). */
  onStop(drop: () => void): void;
}

export interface GatewayParts {
  broker: Broker;
  presence: PresenceStore;
  /** The life of the gateway (absent on the first): see GatewayDeps.bootId. */
  bootId: string | undefined;
}

export interface GatewayBugContext {
  /** The ids of the connections the gateway holds now. */
  connectionIds(): readonly string[];
}

export interface PresenceServiceParts {
  limits: ServerLimits;
}

/**
 * A deliberate server defect as harness equipment: the correct parts, wrapped or replaced at
 * assembly (server/bugs/serverBugEquipment.ts), so production code carries no bug branch.
 * `store` wraps the shared message store in every process that opens it, so a store bug
 * behaves the same on any store (memory, Cassandra).
 */
export interface ServerBug {
  readonly entry: BugEntry & { where: 'server' };
  store?(store: MessageStore): MessageStore;
  chatServer?(parts: ChatServerParts, context: ChatServerBugContext): ChatServerParts;
  gateway?(parts: GatewayParts, context: GatewayBugContext): GatewayParts;
  presenceService?(parts: PresenceServiceParts): PresenceServiceParts;
}
