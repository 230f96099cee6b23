// The chatsim.v1 driver: JSON text frames over a ClientTransport (a WebSocket, or the simulated
// link), as docs/protocol.md describes. The only place the phone's frames are spelled out.
import { CLOSE_CODES, ERROR_CODES, isRetryableClose } from '../../../server/protocol/errorCodes.ts';
import { PING_TEXT } from '../../../server/protocol/frames.ts';
import type { ClientFrame, ServerFrame, SyncResultFrame } from '../../../server/protocol/frames.ts';
import type { InboxEvent } from '../../../server/ports/MessageStore.ts';
import type { MetricsSink } from '../../metrics/MetricsSink.ts';
import type { ClientLink, ClientTransport } from '../../transport/ClientTransport.ts';
import { ALL_CAPABILITIES } from '../DriverCapabilities.ts';
import type { DriverSession, InboxEntry, PhoneDriver, PhoneEvent, PhoneIntent, SessionHandlers } from '../PhoneDriver.ts';
import { limitsPaging } from './requestPages.ts';

export class ChatsimV1Driver implements PhoneDriver {
  readonly protocol = 'chatsim.v1';
  readonly capabilities = ALL_CAPABILITIES;

  constructor(private readonly transport: ClientTransport) {}

  open(endpoint: string, token: string, metrics: MetricsSink, handlers: SessionHandlers): DriverSession {
    return new ChatsimV1Session(this.transport, endpoint, token, metrics, handlers);
  }
}

class ChatsimV1Session implements DriverSession {
  private readonly link: ClientLink;

  constructor(transport: ClientTransport, endpoint: string, token: string, private readonly metrics: MetricsSink, handlers: SessionHandlers) {
    this.link = transport.open(endpoint, token, {
      onOpen: () => handlers.onOpen(),
      onFrame: (text) => {
        if (!handlers.onInbound()) return;
        const frame = this.parse(text);
        const event = frame && eventOf(frame);
        if (event) handlers.onEvent(event);
      },
      onClose: (code, reason) => handlers.onClose({ code, reason, retryable: isRetryableClose(code), goingAway: code === CLOSE_CODES.GOING_AWAY.code }),
    });
  }

  send(intent: PhoneIntent): void {
    if (intent.kind === 'ping') return this.sendText(PING_TEXT, 'ping');
    if (intent.kind === 'app-state') return; // chatsim.v1 has no frame for it: the server pushes the same to a background app
    const frame = frameOf(intent);
    this.sendText(JSON.stringify(frame), frame.type);
  }

  close(code: number, reason: string): void {
    this.link.close(code, reason);
  }

  abort(): void {
    this.link.abort();
  }

  private sendText(text: string, type: string): void {
    this.link.send(text);
    this.metrics.increment(`frames.out.${type}`);
  }

  private parse(text: string): ServerFrame | undefined {
    try {
      const frame = JSON.parse(text) as ServerFrame;
      if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') throw new Error('not a frame');
      this.metrics.increment(`frames.in.${frame.type}`);
      return frame;
    } catch {
      this.metrics.increment('frames.in.invalid');
      return undefined;
    }
  }
}

function frameOf(intent: Exclude<PhoneIntent, { kind: 'ping' | 'app-state' }>): ClientFrame {
  switch (intent.kind) {
    case 'send': return { type: 'send', chat: intent.chat, clientMsgId: intent.clientMsgId, body: intent.body };
    case 'ack': return { type: 'ack', chat: intent.chat, upTo: intent.upTo };
    case 'read': return { type: 'read', chat: intent.chat, upTo: intent.upTo };
    case 'typing': return intent.readUpTo === undefined ? { type: 'typing', chat: intent.chat } : { type: 'typing', chat: intent.chat, read: intent.readUpTo };
    case 'presence-query': return { type: 'presence_query', id: intent.id, users: intent.users };
    case 'sync':
      if (intent.mode === 'token') return { type: 'sync', id: intent.id, token: intent.token };
      return { type: 'sync', id: intent.id, chats: intent.positions, ...(intent.epoch !== undefined ? { epoch: intent.epoch } : {}), ...(intent.listedOnly ? { listedOnly: true } : {}) };
  }
}

/** What a server frame means to the app; undefined for what it does not need (pong). */
function eventOf(frame: ServerFrame): PhoneEvent | undefined {
  switch (frame.type) {
    case 'hello': return { kind: 'session', heartbeatIntervalMs: frame.heartbeatIntervalMs, paging: limitsPaging(frame.limits) };
    case 'sent': return { kind: 'stored', clientMsgId: frame.ref, chat: frame.chat, seq: frame.seq, msgId: frame.msgId };
    case 'message': return { kind: 'message', message: frame };
    case 'receipt': return { kind: 'receipt', receipt: frame };
    case 'sync_result': return syncPageOf(frame);
    case 'error': {
      const retryable = (ERROR_CODES as Record<string, { retry: boolean } | undefined>)[frame.code]?.retry ?? false;
      return { kind: 'refused', code: frame.code, ...(frame.ref !== undefined ? { ref: frame.ref } : {}), retryable, positionsGone: frame.code === 'SYNC_RESET' };
    }
    case 'typing': return { kind: 'typing', chat: frame.chat, user: frame.user };
    case 'presence': return { kind: 'presence', user: frame.user, online: frame.online };
    case 'presence_result': return { kind: 'presence-result', ref: frame.ref, users: frame.users };
    case 'pong': return undefined;
    case 'resync': return { kind: 'resync', scope: frame.reason === 'presence-gap' ? 'presence' : 'messages' };
  }
}

/** A watermark answer carries `chats`, a token answer `events` and the next token. */
function syncPageOf(frame: SyncResultFrame): PhoneEvent {
  const entries = (frame.events ?? []).map(({ position, event }) => inboxEntryOf(position, event));
  return { kind: 'sync-page', ref: frame.ref, epoch: frame.epoch, hasMore: frame.hasMore, chats: frame.chats ?? [], entries, ...(frame.token !== undefined ? { token: frame.token } : {}) };
}

function inboxEntryOf(position: number, event: InboxEvent): InboxEntry {
  switch (event.kind) {
    case 'message': {
      const m = event.message;
      return { position, kind: 'message', message: { chat: m.chatId, seq: m.seq, msgId: m.msgId, from: m.senderId, fromDevice: m.senderDeviceId, clientMsgId: m.clientMsgId, body: m.body, ts: m.sentAtMs } };
    }
    case 'receipt': return { position, kind: 'receipt', receipt: { chat: event.chatId, user: event.userId, kind: event.cursor, upTo: event.upTo } };
    case 'member_added': return { position, kind: 'member-added', chat: event.chatId, user: event.userId };
    default: return { position, kind: 'other' };
  }
}
