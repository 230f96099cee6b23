// What an idle WebSocket connection keeps alive on the gateway (docs/performance.md, memory per
// idle connection). Heap sizes are not asserted (they vary by run); what is asserted is which
// objects stay reachable: the upgrade request must not, and a connection's listeners must be
// shared functions, not closures made per connection.
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { GatewayListenerFactory } from '../../server/gateway/GatewayListener.ts';
import type { ServerConnection } from '../../server/gateway/ServerConnection.ts';
import { WsGatewayListener } from '../../server/gateway/WsGatewayListener.ts';
import { startHarness, type Harness } from '../support/harness.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Full GCs after the current job ends (a WeakRef keeps its target until then). */
async function collect(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  gc();
}

interface Seen {
  requests: Array<WeakRef<object>>;
  heads: Array<WeakRef<object>>;
  sockets: object[];
  links: ServerConnection[];
}

/** The cluster's WebSocket listener, watched: each upgrade's request and head (weakly), each socket and link (strongly). */
function watchedListeners(seen: Seen): GatewayListenerFactory {
  return (deps) => {
    const listener = new WsGatewayListener(deps);
    listener.server.prependListener('upgrade', (req: object, socket: object, head: object) => {
      seen.requests.push(new WeakRef(req));
      seen.heads.push(new WeakRef(head));
      seen.sockets.push(socket);
    });
    const accept = deps.gateway.accept.bind(deps.gateway);
    deps.gateway.accept = (link, identity) => {
      seen.links.push(link);
      return accept(link, identity);
    };
    return { listen: async (port, host) => `ws://${host}:${await listener.listen(port, host)}`, close: () => listener.close() };
  };
}

/** The server-side WebSocket ws attached to a socket (ws keeps it under its own symbol). */
function webSocketOf(socket: object): WebSocket {
  const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'websocket');
  const ws = key === undefined ? undefined : (socket as Record<symbol, unknown>)[key];
  if (!(ws instanceof WebSocket)) throw new Error('no WebSocket on this socket');
  return ws;
}

describe('an idle connection on the gateway holds only what it needs', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('the upgrade request and its head buffer are collectable while the connection stays open', async () => {
    const seen: Seen = { requests: [], heads: [], sockets: [], links: [] };
    h = await startHarness({ gateways: 1, gatewayListeners: watchedListeners(seen) });
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    expect(seen.requests).toHaveLength(2);
    await collect();
    // Before the fix the socket's error listener and the close listener shared the upgrade's
    // closure context, which held req (headers, URL with the token) for the connection's life.
    expect(seen.requests.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(seen.heads.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    // Both still open and served.
    alice.send({ type: 'ping', n: 1 });
    await alice.next((f) => f.type === 'pong');
    bob.send({ type: 'ping', n: 2 });
    await bob.next((f) => f.type === 'pong');
  });

  it('two connections\' WebSocket and socket listeners are the same functions (nothing allocated per connection but the link)', async () => {
    const seen: Seen = { requests: [], heads: [], sockets: [], links: [] };
    h = await startHarness({ gateways: 1, gatewayListeners: watchedListeners(seen) });
    await h.connect('alice');
    await h.connect('bob');
    expect(seen.links).toHaveLength(2);
    const [a, b] = seen.sockets.map(webSocketOf);
    for (const event of ['message', 'close', 'error', 'ping', 'pong'] as const) {
      expect(a!.listeners(event), event).toHaveLength(1);
      expect(a!.listeners(event)[0], event).toBe(b!.listeners(event)[0]);
    }
    // The upgrade's own error listener is gone once ws listens for the socket's errors.
    const [sa, sb] = seen.sockets as Socket[];
    expect(sa!.listeners('error')).toEqual(sb!.listeners('error'));
    expect(sa!.listeners('error')).toHaveLength(1);
  });
});
