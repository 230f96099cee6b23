import type { ServerBugEquipment } from '../bugs/serverBugEquipment.ts';
import { ChatServer } from '../chat/ChatServer.ts';
import { Router } from '../chat/Router.ts';
import { ChatServerPause } from '../faults/ChatServerPause.ts';
import type { Broker } from '../ports/Broker.ts';
import type { Clock, Timers } from '../ports/Clock.ts';
import type { Directory } from '../ports/Directory.ts';
import type { InboundQueue } from '../ports/InboundQueue.ts';
import type { Log } from '../ports/Log.ts';
import type { MessageStore } from '../ports/MessageStore.ts';
import type { Metrics } from '../ports/Metrics.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { ServerLimits } from '../protocol/limits.ts';

export interface ChatServerAssembly {
  id: string;
  /** The machine's wall clock (it stamps messages). */
  clock: Clock;
  /** Where timers run (a skewed clock shifts readings, not durations). */
  timers: Timers;
  limits: ServerLimits;
  metrics: Metrics;
  log?: Log | undefined;
  ports: { queue: InboundQueue; broker: Broker; store: MessageStore; directory: Directory; presence: PresenceStore };
  equipment: ServerBugEquipment;
  /** Every gateway's id. */
  gatewayIds(): readonly string[];
  /** Puts a ChatServerPause between the queue and the server (the in-process cluster, for pause-chat-server). */
  pausable?: boolean;
}

export interface AssembledChatServer {
  server: ChatServer;
  /** Stops the server, gracefully or as a crash; what its process held in memory (bugs' buffers) is gone either way. */
  stop(options?: { crash?: boolean }): Promise<void>;
  /** Where it is paused and resumed, when assembled `pausable`. */
  pause?: ChatServerPause;
}

/** A chat server from its (wrapped) ports, with the run's chat server bugs applied. */
export function assembleChatServer(a: ChatServerAssembly): AssembledChatServer {
  const { broker, store, directory, presence } = a.ports;
  const pause = a.pausable ? new ChatServerPause(a.ports.queue) : undefined;
  const queue = pause ?? a.ports.queue;
  const memory: Array<() => void> = [];
  const parts = a.equipment.chatServer({ clock: a.clock, broker, store, presence, router: new Router(presence, broker) }, {
    id: a.id, timers: a.timers, directory, gatewayIds: a.gatewayIds, onStop: (drop) => memory.push(drop),
  });
  const server = new ChatServer({ id: a.id, queue, directory, limits: a.limits, ...parts, metrics: a.metrics, ...(a.log ? { log: a.log } : {}) });
  return {
    server,
    ...(pause ? { pause } : {}),
    stop: async (options = {}) => {
      for (const drop of memory.splice(0)) drop();
      await server.stop(options);
    },
  };
}
