import type {
  AppendInput, AppendResult, ChatPage, CursorAdvance, CursorKind, InboxEvent, InboxMark, InboxPage, TickState,
  MessageStore, StoredMessage, UserCursors,
} from '../ports/MessageStore.ts';

interface ChatLog {
  messages: StoredMessage[];
  /** `${senderId}\u0000${clientMsgId}` -> seq, for idempotent appends. */
  bySenderClientId: Map<string, number>;
  lastSeqBySender: Map<string, number>;
  cursors: Map<string, UserCursors>;
  announced: Map<string, UserCursors>;
}

interface Inbox {
  events: Array<{ position: number; event: InboxEvent }>;
  byKey: Map<string, number>;
}

/** In-process message store. Stored objects are copied in and out, so callers cannot mutate rows. */
export class MemoryMessageStore implements MessageStore {
  readonly epoch: string;
  private readonly chats = new Map<string, ChatLog>();
  private readonly inboxes = new Map<string, Inbox>();
  private readonly inboxMarks = new Map<string, Map<string, InboxMark>>();
  constructor(epoch = 'mem-1') {
    this.epoch = epoch;
  }

  async append(input: AppendInput): Promise<AppendResult> {
    const log = this.chat(input.chatId);
    const idempotencyKey = `${input.senderId}\u0000${input.clientMsgId}`;
    const existingSeq = log.bySenderClientId.get(idempotencyKey);
    if (existingSeq !== undefined) return { message: { ...log.messages[existingSeq - 1]! }, created: false };
    const message: StoredMessage = {
      chatId: input.chatId,
      seq: log.messages.length + 1,
      msgId: input.msgId,
      senderId: input.senderId,
      senderDeviceId: input.senderDeviceId,
      clientMsgId: input.clientMsgId,
      body: input.body,
      sentAtMs: input.sentAtMs,
    };
    log.messages.push(Object.freeze(message));
    log.bySenderClientId.set(idempotencyKey, message.seq);
    log.lastSeqBySender.set(input.senderId, message.seq);
    return { message: { ...message }, created: true };
  }

  async findSend(chatId: string, senderId: string, clientMsgId: string): Promise<StoredMessage | undefined> {
    const log = this.chats.get(chatId);
    const seq = log?.bySenderClientId.get(`${senderId}\u0000${clientMsgId}`);
    return seq === undefined ? undefined : { ...log!.messages[seq - 1]! };
  }

  async readChat(chatId: string, afterSeq: number, limit: number): Promise<ChatPage> {
    const log = this.chats.get(chatId);
    const headSeq = log?.messages.length ?? 0;
    const start = Math.max(0, afterSeq);
    const slice = log ? log.messages.slice(start, start + limit) : [];
    const lastSeq = slice.length > 0 ? slice[slice.length - 1]!.seq : start;
    return { messages: slice.map((m) => ({ ...m })), headSeq, hasMore: lastSeq < headSeq };
  }

  async reaches(chatId: string, seq: number): Promise<boolean> {
    return seq <= 0 || (await this.headSeq(chatId)) >= seq;
  }

  async headSeq(chatId: string): Promise<number> {
    return this.chats.get(chatId)?.messages.length ?? 0;
  }

  async advanceCursor(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<CursorAdvance> {
    const log = this.chat(chatId);
    let cursors = log.cursors.get(userId);
    if (!cursors) {
      cursors = { delivered: 0, read: 0 };
      log.cursors.set(userId, cursors);
    }
    const before = cursors[kind];
    cursors[kind] = Math.max(before, upTo);
    return { before, after: cursors[kind] };
  }

  async getCursors(chatId: string): Promise<Map<string, UserCursors>> {
    const result = new Map<string, UserCursors>();
    for (const [userId, c] of this.chats.get(chatId)?.cursors ?? []) result.set(userId, { ...c });
    return result;
  }

  async tickState(chatId: string): Promise<TickState> {
    const announced = new Map<string, UserCursors>();
    for (const [userId, a] of this.chats.get(chatId)?.announced ?? []) announced.set(userId, { ...a });
    return { cursors: await this.getCursors(chatId), lastSeqBySender: new Map(this.chats.get(chatId)?.lastSeqBySender ?? []), announced };
  }

  async raiseAnnounced(chatId: string, userId: string, kind: CursorKind, upTo: number): Promise<void> {
    const log = this.chat(chatId);
    const announced = log.announced.get(userId) ?? { delivered: 0, read: 0 };
    announced[kind] = Math.max(announced[kind], upTo);
    log.announced.set(userId, announced);
  }

  async appendInbox(userId: string, eventKey: string, event: InboxEvent): Promise<number> {
    let inbox = this.inboxes.get(userId);
    if (!inbox) {
      inbox = { events: [], byKey: new Map() };
      this.inboxes.set(userId, inbox);
    }
    const existing = inbox.byKey.get(eventKey);
    if (existing !== undefined) return existing;
    const position = inbox.events.length + 1;
    inbox.events.push({ position, event: structuredClone(event) });
    inbox.byKey.set(eventKey, position);
    return position;
  }

  async readInbox(userId: string, afterPosition: number, limit: number): Promise<InboxPage> {
    const inbox = this.inboxes.get(userId);
    const headPosition = inbox?.events.length ?? 0;
    const start = Math.max(0, afterPosition);
    const slice = inbox ? inbox.events.slice(start, start + limit) : [];
    const last = slice.length > 0 ? slice[slice.length - 1]!.position : start;
    return { events: slice.map((e) => structuredClone(e)), headPosition, hasMore: last < headPosition };
  }

  async getInboxMarks(userId: string): Promise<Map<string, InboxMark>> {
    return new Map([...this.inboxMarks.get(userId) ?? []].map(([chatId, mark]) => [chatId, { ...mark }]));
  }

  async raiseInboxMark(userId: string, chatId: string, mark: InboxMark): Promise<void> {
    const marks = this.inboxMarks.get(userId) ?? new Map<string, InboxMark>();
    this.inboxMarks.set(userId, marks);
    const current = marks.get(chatId) ?? { messages: 0, delivered: 0, read: 0 };
    marks.set(chatId, {
      messages: Math.max(current.messages, mark.messages),
      delivered: Math.max(current.delivered, mark.delivered),
      read: Math.max(current.read, mark.read),
    });
  }

  private chat(chatId: string): ChatLog {
    let log = this.chats.get(chatId);
    if (!log) {
      log = { messages: [], bySenderClientId: new Map(), lastSeqBySender: new Map(), cursors: new Map(), announced: new Map() };
      this.chats.set(chatId, log);
    }
    return log;
  }
}
