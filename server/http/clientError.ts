import http from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers a request Node's HTTP parser refused (a target or header it cannot parse, headers
 * over the size limit, a request that timed out) the way every other refusal is answered: a
 * JSON body with code BAD_REQUEST, then the connection is closed. Node's default answer has
 * no body. Attach with `server.on('clientError', answerClientError)`. Never throws.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  try {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ error: { code: 'BAD_REQUEST', message: 'the request is not valid HTTP/1.1 or its headers are too large' } });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  } catch {
    socket.destroy();
  }
}
