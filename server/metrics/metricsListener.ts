import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAdminRequest } from '../http/auth.ts';
import type { MetricsExposition } from '../ports/Metrics.ts';

/**
 * A node's own metrics endpoint (gateway and chat server processes of the multi-process
 * cluster; the API serves /metrics on its own port): `GET /metrics` with the admin token
 * (`Authorization: Bearer` or `x-admin-token`), 403 without it, 404 for any other path.
 */
export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

export async function listenMetrics(
  exposition: (accept: string) => Promise<MetricsExposition>, adminToken: string, host: string, port: number,
): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: GET /metrics\n');
      return;
    }
    if (!isAdminRequest(req.headers, adminToken)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('forbidden: the admin token is needed (Authorization: Bearer)\n');
      return;
    }
    const accept = Array.isArray(req.headers.accept) ? req.headers.accept.join(',') : req.headers.accept ?? '';
    exposition(accept).then(
      (body) => res.writeHead(200, { 'content-type': body.contentType }).end(body.text),
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n'),
    );
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** host:port as a target list writes it (an IPv6 host in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
