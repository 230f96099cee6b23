// The ceiling: a raw `ws` echo server, nothing else (no parsing, no routing), in its own
// process. Text "B:<payload>" is broadcast to every connection instead (the fan-out peer).
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { collectGarbage, serveParent } from '../lib/child.ts';

const sockets = new Set<WebSocket>();
const stats = { framesIn: 0, framesOut: 0 };
// Same socket options as the gateway: no compression, no client tracking, a deep accept backlog.
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 4096, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  sockets.add(ws);
  ws.on('close', () => sockets.delete(ws));
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => {
    stats.framesIn++;
    const buffer = data as Buffer; // one Buffer per frame: no fragmented frames here
    if (buffer[0] === 0x42 && buffer[1] === 0x3a) { // "B:"
      for (const s of sockets) s.send(buffer, { binary: false });
      stats.framesOut += sockets.size;
      return;
    }
    // The leanest echo: the received bytes go back as they came, never decoded.
    ws.send(buffer, { binary: isBinary });
    stats.framesOut++;
  });
});
await new Promise<void>((resolve) => wss.on('listening', () => resolve()));

serveParent({
  address: () => ({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` }),
  stats: () => ({ ...stats, connections: sockets.size }),
  gc: () => collectGarbage(),
}, () => {
  for (const s of sockets) s.terminate();
  wss.close();
});
