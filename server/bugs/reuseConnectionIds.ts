import type { ServerBug } from './ServerBug.ts';

/** Bug 'reuse-connection-ids' at assembly: the gateway is not told its life, so every life numbers gw1.1, gw1.2, ... again. */
export const reuseConnectionIds: ServerBug = {
  entry: {
    name: 'reuse-connection-ids', where: 'server', breaks: ['A10'],
    description: 'A gateway that comes back after a crash (kill-gateway) numbers its connections from 1 again: a stale presence entry of the old life routes a member\'s pushes to whoever now holds the same connection id.',
  },
  gateway: (parts) => ({ ...parts, bootId: undefined }),
};
