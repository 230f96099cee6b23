// A WebSocket client written on a bare TCP socket, so the fuzz suite can send what no WebSocket
// library would: bad opcodes, unmasked client frames, reserved bits, lengths past any limit,
// broken fragmentation, bad close frames. It reads what the server answers, down to the close code.
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export interface RawFrameSpec {
  fin?: boolean;
  /** RSV1..3 as a 3-bit number. */
  rsv?: number;
  opcode: number;
  /** Client frames must be masked (RFC 6455 5.1); false sends one unmasked. */
  masked?: boolean;
  payload?: Buffer;
  /** Announce this length instead of the payload's (the payload is still what is written). */
  announcedLength?: bigint;
  /** Use the 64-bit length form even for a short payload (a non-minimal encoding). */
  longForm?: boolean;
}

export function encodeFrame(spec: RawFrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const masked = spec.masked ?? true;
  const length = spec.announcedLength ?? BigInt(payload.length);
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (length < 126n && !spec.longForm) head.push(maskBit | Number(length));
  else if (length < 65536n && !spec.longForm) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(length));
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(length);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), ext, payload]);
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from(head), ext, mask, body]);
}

export interface ServerFrameRecord {
  opcode: number;
  payload: Buffer;
}

/** How a raw connection ended. `closeCode` is from the server's close frame; none means the socket was dropped (1006). */
export interface RawOutcome {
  frames: ServerFrameRecord[];
  closeCode: number | undefined;
  /** The server ended the TCP connection. */
  ended: boolean;
  /** Still open when we gave up waiting. */
  stillOpen: boolean;
}

export class RawWebSocket {
  readonly frames: ServerFrameRecord[] = [];
  closeCode: number | undefined;
  ended = false;
  private buffer = Buffer.alloc(0);
  private readonly endedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket, rest: Buffer) {
    this.endedPromise = new Promise((resolve) => socket.once('close', () => {
      this.ended = true;
      resolve();
    }));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (rest.length > 0) this.onData(rest);
  }

  /** Opens a TCP connection and performs the upgrade with the token and the chatsim.v1 subprotocol; rejects unless 101. */
  static async connect(url: string, token: string, timeoutMs = 5000): Promise<RawWebSocket> {
    const { hostname, port } = new URL(url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.on('error', () => undefined);
    const key = randomBytes(16).toString('base64');
    socket.write(`GET /?token=${encodeURIComponent(token)} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
      + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chatsim.v1\r\n\r\n`);
    const head = await new Promise<{ status: string; rest: Buffer }>((resolve, reject) => {
      let data = Buffer.alloc(0);
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('the upgrade was not answered')); }, timeoutMs);
      const onData = (chunk: Buffer): void => {
        data = Buffer.concat([data, chunk]);
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        socket.off('data', onData);
        resolve({ status: data.subarray(0, data.indexOf('\r\n')).toString('latin1'), rest: data.subarray(end + 4) });
      };
      socket.on('data', onData);
      socket.once('close', () => { clearTimeout(timer); reject(new Error('closed during the upgrade')); });
    });
    if (!/^HTTP\/1\.1 101 /.test(head.status)) {
      socket.destroy();
      throw new Error(`upgrade refused: ${head.status}`);
    }
    return new RawWebSocket(socket, head.rest);
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Waits until the server ends the connection or `timeoutMs` passes, then drops the socket. */
  async outcome(timeoutMs: number): Promise<RawOutcome> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.endedPromise, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
    clearTimeout(timer);
    const stillOpen = !this.ended && this.closeCode === undefined;
    this.socket.destroy();
    return { frames: this.frames, closeCode: this.closeCode, ended: this.ended, stillOpen };
  }

  /** Server frames are never masked and never fragmented by this server; anything else is recorded as it parses. */
  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0]! & 0x0f;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      this.frames.push({ opcode, payload });
      if (opcode === 0x8 && this.closeCode === undefined) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    }
  }
}

export interface FramingViolation {
  name: string;
  /** The byte chunks to write after the upgrade. */
  chunks(frameBytesHardMax: number): Buffer[];
  /** RFC 6455 requires the server to fail the connection; false when acceptance is allowed too. */
  mustClose: boolean;
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');
const closePayload = (code: number, reason = ''): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, text(reason)]);
};

/** WebSocket framing violations, each on a connection of its own. */
export const FRAMING_VIOLATIONS: readonly FramingViolation[] = [
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
    name: `reserved opcode ${opcode}`, mustClose: true, chunks: () => [encodeFrame({ opcode, payload: text('{"type":"ping"}') })],
  })),
  { name: 'unmasked client text frame', mustClose: true, chunks: () => [encodeFrame({ opcode: 1, masked: false, payload: text('{"type":"ping"}') })] },
  ...[1, 2, 4, 7].map((rsv) => ({ name: `RSV bits ${rsv} without an extension`, mustClose: true, chunks: () => [encodeFrame({ opcode: 1, rsv, payload: text('{"type":"ping"}') })] })),
  { name: 'continuation without a first fragment', mustClose: true, chunks: () => [encodeFrame({ opcode: 0, payload: text('{"type":"ping"}') })] },
  { name: 'new text frame inside a fragmented message', mustClose: true, chunks: () => [encodeFrame({ opcode: 1, fin: false, payload: text('{"type":') }), encodeFrame({ opcode: 1, payload: text('{"type":"ping"}') })] },
  { name: 'fragmented ping', mustClose: true, chunks: () => [encodeFrame({ opcode: 9, fin: false, payload: text('a') }), encodeFrame({ opcode: 0, payload: text('b') })] },
  { name: 'ping payload over 125 bytes', mustClose: true, chunks: () => [encodeFrame({ opcode: 9, payload: Buffer.alloc(126, 0x61) })] },
  { name: 'close with a 1-byte payload', mustClose: true, chunks: () => [encodeFrame({ opcode: 8, payload: Buffer.from([3]) })] },
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((code) => ({
    name: `close with invalid code ${code}`, mustClose: true, chunks: () => [encodeFrame({ opcode: 8, payload: closePayload(code) })],
  })),
  { name: 'close with invalid UTF-8 reason', mustClose: true, chunks: () => [encodeFrame({ opcode: 8, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff, 0xfe])]) })] },
  { name: 'text frame of invalid UTF-8', mustClose: true, chunks: () => [encodeFrame({ opcode: 1, payload: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]) })] },
  {
    name: 'invalid UTF-8 split across fragments', mustClose: true,
    chunks: () => [encodeFrame({ opcode: 1, fin: false, payload: Buffer.from([0x22, 0xe2, 0x82]) }), encodeFrame({ opcode: 0, payload: Buffer.from([0x41, 0x22]) })],
  },
  { name: '64-bit length of 2^63 - 1', mustClose: true, chunks: () => [encodeFrame({ opcode: 1, announcedLength: 2n ** 63n - 1n, payload: text('{"type":"ping"}') })] },
  { name: '64-bit length with the top bit set', mustClose: true, chunks: () => [encodeFrame({ opcode: 1, announcedLength: 2n ** 64n - 1n, payload: text('x') })] },
  { name: 'length just past frameBytesHardMax', mustClose: true, chunks: (hardMax) => [encodeFrame({ opcode: 1, announcedLength: BigInt(hardMax + 1), payload: text('{') })] },
  {
    name: 'fragments adding up past frameBytesHardMax', mustClose: true,
    chunks: (hardMax) => {
      const piece = Buffer.alloc(64 * 1024, 0x20);
      const n = Math.ceil((hardMax + 1) / piece.length) + 1;
      return [encodeFrame({ opcode: 1, fin: false, payload: text('"') }), ...Array.from({ length: n }, () => encodeFrame({ opcode: 0, fin: false, payload: piece }))];
    },
  },
  { name: 'an HTTP request after the upgrade', mustClose: true, chunks: () => [text('GET / HTTP/1.1\r\nHost: x\r\n\r\n')] },
  // Allowed by the RFC or by ws; the server may answer, and what it answers must be documented.
  { name: 'non-minimal 64-bit length', mustClose: false, chunks: () => [encodeFrame({ opcode: 1, longForm: true, payload: text('{"type":"ping"}') })] },
  { name: 'valid fragmented frame', mustClose: false, chunks: () => [encodeFrame({ opcode: 1, fin: false, payload: text('{"type":') }), encodeFrame({ opcode: 0, fin: false, payload: text('"pi') }), encodeFrame({ opcode: 0, payload: text('ng"}') })] },
  { name: 'ping between fragments', mustClose: false, chunks: () => [encodeFrame({ opcode: 1, fin: false, payload: text('{"type"') }), encodeFrame({ opcode: 9, payload: text('hi') }), encodeFrame({ opcode: 0, payload: text(':"ping"}') })] },
  { name: 'unsolicited pong', mustClose: false, chunks: () => [encodeFrame({ opcode: 0xa, payload: text('x') })] },
  { name: 'empty text frame', mustClose: false, chunks: () => [encodeFrame({ opcode: 1 })] },
  { name: 'a frame cut in half, then silence', mustClose: false, chunks: () => [encodeFrame({ opcode: 1, payload: text('{"type":"ping"}') }).subarray(0, 5)] },
  { name: 'close 1000 then data', mustClose: true, chunks: () => [encodeFrame({ opcode: 8, payload: closePayload(1000) }), encodeFrame({ opcode: 1, payload: text('{"type":"ping"}') })] },
  { name: 'binary frame, then a valid text frame', mustClose: false, chunks: () => [encodeFrame({ opcode: 2, payload: text('{"type":"ping"}') }), encodeFrame({ opcode: 1, payload: text('{ "type": "ping" }') })] },
];
