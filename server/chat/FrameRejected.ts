import type { ErrorCode } from '../protocol/errorCodes.ts';

/** Raised for a frame the server must refuse; turned into an `error` frame at the edge (ChatServer.handleEntry). */
export class FrameRejected extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly ref?: string) {
    super(message);
  }
}
