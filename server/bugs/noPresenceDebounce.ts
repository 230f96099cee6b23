import type { ServerBug } from './ServerBug.ts';

/** Bug 'no-presence-debounce' as a limits override of the presence service: its debounce window is 0. */
export const noPresenceDebounce: ServerBug = {
  entry: {
    name: 'no-presence-debounce', where: 'server', breaks: ['D1', 'D6'],
    description: 'Offline is broadcast to friends the moment the last connection drops, with no 30 s debounce.',
  },
  presenceService: (parts) => ({ ...parts, limits: { ...parts.limits, presenceDebounceMs: 0 } }),
};
