import type { IncomingMessage } from 'node:http';
import { JSON_DEPTH_MAX, parseJsonBounded } from '../protocol/boundedJson.ts';
import { ApiError, badRequest } from './errors.ts';

/**
 * How many bytes of an oversized body are read and thrown away after the 413. Draining a
 * little lets a client that sent slightly too much read the answer on a healthy connection;
 * past this the connection is closed, so a huge upload costs neither memory nor bandwidth.
 */
export const OVERSIZE_DRAIN_BYTES_MAX = 64 * 1024;

/**
 * Reads the body as JSON; an empty body reads as undefined. A non-empty body must be declared
 * `application/json` (415 otherwise: a form or text/plain post is not guessed at); JSON deeper
 * than JSON_DEPTH_MAX is refused (400).
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const raw = await readBody(req, maxBytes);
  if (raw.length === 0) return undefined;
  if (!isJsonMediaType(req.headers['content-type'])) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE');
  const parsed = parseJsonBounded(raw.toString('utf8'));
  if (parsed.ok) return parsed.value;
  throw badRequest(parsed.reason === 'too-deep' ? `the body nests deeper than ${JSON_DEPTH_MAX} levels` : 'the body is not valid JSON');
}

/** Whether a content-type header names application/json (any case, any parameters). */
export function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Reads the whole body, refusing one over `maxBytes` with 413. A declared length over the
 * limit is refused before reading a byte; an undeclared (chunked) one as soon as it passes it.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > maxBytes) return Promise.reject(refuseDeclared(req, declared, maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      detach();
      chunks.length = 0;
      drainThenClose(req);
      reject(payloadTooLarge(maxBytes));
    };
    const onEnd = (): void => {
      detach();
      resolve(Buffer.concat(chunks));
    };
    const onAbort = (): void => {
      detach();
      reject(new Error('the request was aborted before its body ended'));
    };
    const detach = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
    };
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort);
  });
}

function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

/** Refuses a body whose declared length is too large, draining it only when the excess is small. */
function refuseDeclared(req: IncomingMessage, declared: number, maxBytes: number): ApiError {
  // With `connection: close` Node closes the connection after the reply, reading no more.
  if (declared - maxBytes > OVERSIZE_DRAIN_BYTES_MAX) return payloadTooLarge(maxBytes, { connection: 'close' });
  drainThenClose(req);
  return payloadTooLarge(maxBytes);
}

/** Discards the rest of the body without keeping it; past the drain budget, drops the connection. */
function drainThenClose(req: IncomingMessage): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > OVERSIZE_DRAIN_BYTES_MAX) req.socket.destroy();
  });
  req.resume();
}

function payloadTooLarge(maxBytes: number, headers: Record<string, string> = {}): ApiError {
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', `the body exceeds httpBodyBytesMax (${maxBytes} bytes)`, headers);
}
