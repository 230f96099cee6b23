// The group chats of one XMPP driver session: XEP-0045 rooms (members-only, archived with
// XEP-0313 MAM on the room, as EjabberdProvisioner makes them). docs/drivers.md maps them:
// - a group chat `g:<room>` is the room `<room>@<muc service>`; the user's nick is its local part
//   (every device of the user joins with the same nick, which ejabberd allows for one bare JID);
// - join: presence to room/nick with `<history maxstanzas='0'/>` (history comes from the room's
//   MAM instead), at session start for every room this phone knows, and before a sync or a send;
// - send: a groupchat message whose stanza id and origin-id are the clientMsgId; `stored` when the
//   room reflects it back (the room's stanza-id, by the room JID, is the server's id of it): the
//   reflection, not the XEP-0198 ack, says the room took and archived it;
// - positions: numbered by this device in the order it learns of messages (ChatPositions.ts), by
//   origin-id; sync from a position is a MAM query to the room after the room archive id held;
// - typing: XEP-0085 `composing` to the room, reflected to every occupant;
// - receipts and read markers: not carried in groups (capabilities.groups), see XMPP_CAPABILITIES.
import type { TimeSource } from '../../../server/ports/Clock.ts';
import type { PhoneEvent, SyncChatPage } from '../PhoneDriver.ts';
import type { ChatPositions } from './ChatPositions.ts';
import type { ArchivedMessage, IncomingMessage, XmppConnection, XmppError } from './XmppConnection.ts';

/** The names of group chats and rooms (XmppDriver implements it). */
export interface RoomNames {
  /** The room's bare JID of a group chat id, or undefined for a chat that is not a group. */
  roomJid(chat: string): string | undefined;
  /** The group chat id of a room's bare JID, or undefined for a JID that is not a room. */
  groupChatOf(jid: string): string | undefined;
}

/** What the group part needs of its driver session. */
export interface MucHost {
  readonly user: string;
  readonly device: string;
  readonly connection: XmppConnection;
  readonly positions: ChatPositions;
  readonly time: TimeSource;
  readonly names: RoomNames;
  /** Group chats this phone has named (kept by the driver across sessions: joined at each start). */
  readonly knownRooms: Set<string>;
  /** Client ids this device sent (kept across sessions): an own message not listed came from another device. */
  readonly sentHere: Set<string>;
  emit(event: PhoneEvent): void;
  ended(): boolean;
}

export class MucChats {
  /** Per group chat, this session's join (a failed one is forgotten, so the next use tries again). */
  private readonly joins = new Map<string, Promise<XmppError | undefined>>();
  /** Own group messages sent in this session whose reflection has not come back: clientMsgId -> body. */
  private readonly inFlight = new Map<string, string>();

  constructor(private readonly host: MucHost) {}

  /** Session start: join every room this phone knows, without waiting. */
  joinKnown(): void {
    for (const chat of this.host.knownRooms) void this.joined(chat);
  }

  /** The session's join of `chat` (started now if not yet): undefined once joined, else why not. */
  joined(chat: string): Promise<XmppError | undefined> {
    const known = this.joins.get(chat);
    if (known) return known;
    const room = this.host.names.roomJid(chat);
    if (!room) return Promise.resolve({ code: 'join_refused', message: `${chat} is not a group chat` });
    this.host.knownRooms.add(chat);
    const attempt = this.host.connection.joinRoom(room, this.host.user).then((r) => {
      if (r.ok) return undefined;
      this.joins.delete(chat);
      return r.error;
    });
    this.joins.set(chat, attempt);
    return attempt;
  }

  send(chat: string, clientMsgId: string, body: string): void {
    const { positions, connection } = this.host;
    const known = positions.get(chat, clientMsgId);
    // Already stored (reflected, or found in the room's archive): answer as a deduplicating server would.
    if (known) return this.host.emit({ kind: 'stored', clientMsgId, chat, seq: known.message.seq, msgId: known.message.msgId });
    // Sent in this stream and not reflected yet: XEP-0198 carries it; a second copy would be a second message.
    if (this.inFlight.has(clientMsgId)) return;
    this.inFlight.set(clientMsgId, body);
    this.host.sentHere.add(clientMsgId);
    void this.joined(chat).then((error) => {
      if (this.host.ended()) return;
      // Not an occupant: the room would refuse the message. The phone's retry timer repeats the send.
      if (error) return void this.inFlight.delete(clientMsgId);
      connection.sendGroupchat(this.host.names.roomJid(chat)!, body, { id: clientMsgId });
    });
  }

  /**
   * The room refused one of our stanzas (we are no longer an occupant, say): a message of ours
   * is no longer in flight, so the phone's retry sends it again, after a new join.
   */
  refused(from: string, id: string): void {
    const chat = this.host.names.groupChatOf(from);
    if (!chat) return;
    this.joins.delete(chat);
    this.inFlight.delete(id);
  }

  /** A groupchat message from a room (live, or the reflection of our own). */
  incoming(m: IncomingMessage): void {
    const chat = this.host.names.groupChatOf(m.from);
    const key = m.originId ?? (m.id || m.stanzaId || '');
    if (!chat || !m.nick || !key) return; // the room's own messages (subject, configuration) have no nick
    const { user, device, positions } = this.host;
    const own = m.nick === user;
    const mine = own && this.inFlight.has(key);
    const { entry, isNew } = positions.place(chat, key, (seq) => ({
      stanzaId: m.stanzaId ?? key, own, ...(m.stanzaId ? { archiveId: m.stanzaId } : {}),
      message: { chat, seq, msgId: m.stanzaId ?? key, from: m.nick!, fromDevice: own && this.host.sentHere.has(key) ? device : 'xmpp', clientMsgId: key, body: m.body, ts: m.delayedMs ?? this.host.time.nowMs() },
    }));
    if (m.stanzaId) positions.noteArchiveId(chat, key, m.stanzaId);
    if (mine) {
      this.inFlight.delete(key);
      return this.host.emit({ kind: 'stored', clientMsgId: key, chat, seq: entry.message.seq, msgId: entry.message.msgId });
    }
    if (isNew) this.host.emit({ kind: 'message', message: entry.message });
  }

  /** Only as an occupant (the room refuses a stanza from anyone else): after the join. */
  typing(chat: string): void {
    const room = this.host.names.roomJid(chat);
    if (!room) return;
    void this.joined(chat).then((error) => {
      if (!error && !this.host.ended()) this.host.connection.sendChatState(room, 'composing', 'groupchat');
    });
  }

  /** A chat state reflected by a room: another member types (our own reflection is not news). */
  chatState(from: string, nick: string | undefined, state: string): void {
    const chat = this.host.names.groupChatOf(from);
    if (chat && nick && nick !== this.host.user && state === 'composing') this.host.emit({ kind: 'typing', chat, user: nick });
  }

  /** Everything of the room after `position`: join first (what comes after arrives live), then the room's MAM after the archive id held. */
  async sync(chat: string, position: number): Promise<{ ok: true; page: SyncChatPage } | { ok: false; code: string }> {
    const { positions, connection } = this.host;
    const joinError = await this.joined(chat);
    if (joinError) return { ok: false, code: `MUC_${joinError.code.toUpperCase()}` };
    const room = this.host.names.roomJid(chat)!;
    const afterId = positions.archiveIdAtOrBelow(chat, position);
    const fetched = await connection.mamFetchAll(afterId === undefined ? { archive: room } : { archive: room, afterId });
    if (!fetched.ok) return { ok: false, code: `MAM_${fetched.error.code.toUpperCase()}` };
    for (const archived of fetched.value) this.placeArchived(chat, archived);
    const head = positions.head(chat);
    return { ok: true, page: { chat, messages: positions.between(chat, position, head).map((e) => e.message), head, hasMore: false, receipts: [] } };
  }

  private placeArchived(chat: string, archived: ArchivedMessage): void {
    const slash = archived.from.indexOf('/');
    const nick = slash < 0 ? undefined : archived.from.slice(slash + 1);
    if (!archived.body || !nick) return;
    const key = archived.originId ?? archived.id ?? archived.archiveId;
    const own = nick === this.host.user;
    this.host.positions.place(chat, key, (seq) => ({
      stanzaId: archived.archiveId, own, archiveId: archived.archiveId,
      message: { chat, seq, msgId: archived.archiveId, from: nick, fromDevice: own && this.host.sentHere.has(key) ? this.host.device : 'xmpp', clientMsgId: key, body: archived.body, ts: archived.stampMs ?? 0 },
    }));
    this.host.positions.noteArchiveId(chat, key, archived.archiveId);
  }
}
