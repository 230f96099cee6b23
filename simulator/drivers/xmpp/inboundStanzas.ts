import type { EventEmitter } from 'node:events';
import { unwrapCarbon } from './carbons.ts';
import { NS, type ArchivedMessage, type ChatState, type IncomingMessage, type MarkerKind, type PresenceUpdate, type XmlElement, type XmppConnectionEvents, type XmppError, type XmppResult } from './xmppTypes.ts';

/**
 * Inbound stanzas of an XmppConnection turned into its events: messages (live, carbons, MAM
 * results, errors, receipts, markers, chat states) and presences (contacts, room joins).
 */

/** What the inbound handlers need of the connection: its identity, its open MAM queries and room joins, and its events. */
export interface InboundContext {
  readonly bareJid: string;
  readonly mamCollectors: ReadonlyMap<string, { archive: string; messages: ArchivedMessage[] }>;
  readonly joinWaiters: Map<string, (result: XmppResult<void>) => void>;
  readonly events: EventEmitter<XmppConnectionEvents>;
}

export function onMessage(ctx: InboundContext, stanza: XmlElement): void {
  const from = stanza.attrs.from ?? '';
  const [fromBare, fromResource] = splitJid(from);
  const type = stanza.attrs.type === 'groupchat' ? 'groupchat' : 'chat';

  const mamResult = stanza.getChild('result', NS.mam);
  if (mamResult) {
    const collector = ctx.mamCollectors.get(mamResult.attrs.queryid ?? '');
    // Only from the archive queried (a result from anyone else would be forged).
    if (collector && (from === '' ? collector.archive === ctx.bareJid.toLowerCase() : fromBare.toLowerCase() === collector.archive)) {
      const archived = parseArchived(mamResult);
      if (archived) collector.messages.push(archived);
    }
    return;
  }

  if (stanza.attrs.type === 'error') {
    const errorEl = stanza.getChild('error');
    const condition = errorEl?.children.find((c): c is XmlElement => typeof c !== 'string' && c.attrs.xmlns === NS.stanzas)?.name;
    const event: { from: string; id: string; condition?: string } = { from: fromBare, id: stanza.attrs.id ?? '' };
    if (condition) event.condition = condition;
    ctx.events.emit('messageError', event);
    return;
  }

  // XEP-0280 carbons: copies of this user's own traffic on other resources (carbons.ts).
  if (unwrapCarbon(ctx, stanza)) return;

  const receipt = stanza.getChild('received', NS.receipts);
  if (receipt?.attrs.id) ctx.events.emit('receipt', { from: fromBare, id: receipt.attrs.id });

  for (const kind of ['received', 'displayed', 'acknowledged'] as const) {
    const marker = stanza.getChild(kind, NS.markers);
    if (marker?.attrs.id) {
      const event: { from: string; kind: MarkerKind; id: string; type: 'chat' | 'groupchat'; nick?: string } = { from: fromBare, kind, id: marker.attrs.id, type };
      if (type === 'groupchat' && fromResource) event.nick = fromResource;
      ctx.events.emit('marker', event);
    }
  }

  const body = stanza.getChildText('body');
  if (body === null) {
    const state = stanza.children.find((c): c is XmlElement => typeof c !== 'string' && c.attrs.xmlns === NS.chatStates);
    if (state) {
      const event: { from: string; state: ChatState; type: 'chat' | 'groupchat'; nick?: string; delayed?: boolean } = { from: fromBare, state: state.name as ChatState, type };
      if (type === 'groupchat' && fromResource) event.nick = fromResource;
      // XEP-0203: held by the server (ejabberd's CSI queue stamps "Client Inactive") or re-sent after a stream resumption: not live (clientState.ts).
      if (stanza.getChild('delay', NS.delay)) event.delayed = true;
      ctx.events.emit('chatState', event);
    }
    return;
  }
  ctx.events.emit('message', incoming(ctx, stanza, type, fromBare, fromResource, body));
}

function incoming(ctx: InboundContext, stanza: XmlElement, type: 'chat' | 'groupchat', fromBare: string, fromResource: string | undefined, body: string): IncomingMessage {
  const message: IncomingMessage = {
    type, from: fromBare, id: stanza.attrs.id ?? '', body,
    receiptRequested: stanza.getChild('request', NS.receipts) !== undefined,
    markable: stanza.getChild('markable', NS.markers) !== undefined,
  };
  if (type === 'groupchat' && fromResource) message.nick = fromResource;
  const originId = stanza.getChild('origin-id', NS.sid)?.attrs.id;
  if (originId) message.originId = originId;
  // The stanza-id to trust is the one added by the archive we read from: our own server for
  // 1:1 (by = our bare JID), the room for groupchat (by = room).
  const by = type === 'groupchat' ? fromBare : ctx.bareJid;
  const stanzaId = stanza.getChildren('stanza-id', NS.sid).find((s) => s.attrs.by === by)?.attrs.id;
  if (stanzaId) message.stanzaId = stanzaId;
  const stamp = stanza.getChild('delay', NS.delay)?.attrs.stamp;
  if (stamp) {
    const ms = Date.parse(stamp);
    if (!Number.isNaN(ms)) message.delayedMs = ms;
  }
  return message;
}

export function onPresence(ctx: InboundContext, stanza: XmlElement): void {
  const from = stanza.attrs.from ?? '';
  const [fromBare, resource] = splitJid(from);
  const mucUser = stanza.getChild('x', NS.mucUser);
  const key = fromBare.toLowerCase();
  if (mucUser || ctx.joinWaiters.has(key)) {
    const waiter = ctx.joinWaiters.get(key);
    if (!waiter) return;
    if (stanza.attrs.type === 'error') {
      ctx.joinWaiters.delete(key);
      const errorEl = stanza.getChild('error');
      const condition = errorEl?.children.find((c): c is XmlElement => typeof c !== 'string' && c.attrs.xmlns === NS.stanzas)?.name;
      const error: XmppError = { code: 'join_refused', message: `${fromBare} refused the join${condition ? ` (${condition})` : ''}` };
      if (condition) error.condition = condition;
      waiter({ ok: false, error });
      return;
    }
    const self = mucUser?.getChildren('status').some((s) => s.attrs.code === '110');
    if (self) {
      ctx.joinWaiters.delete(key);
      waiter({ ok: true, value: undefined });
    }
    return;
  }
  const type = stanza.attrs.type;
  if (type !== undefined && type !== 'unavailable') return; // subscribe/subscribed/probe/error
  if (fromBare === ctx.bareJid) return;
  const update: PresenceUpdate = { from: fromBare, available: type !== 'unavailable' };
  if (resource) update.resource = resource;
  const show = stanza.getChildText('show');
  if (show) update.show = show;
  ctx.events.emit('presence', update);
}

function splitJid(jid: string): [string, string | undefined] {
  const slash = jid.indexOf('/');
  return slash < 0 ? [jid, undefined] : [jid.slice(0, slash), jid.slice(slash + 1)];
}

function parseArchived(result: XmlElement): ArchivedMessage | undefined {
  const forwarded = result.getChild('forwarded', NS.forward);
  const inner = forwarded?.getChild('message');
  const body = inner?.getChildText('body');
  if (!inner || body === null || body === undefined) return undefined;
  const archived: ArchivedMessage = { archiveId: result.attrs.id ?? '', from: inner.attrs.from ?? '', body };
  const stamp = forwarded?.getChild('delay', NS.delay)?.attrs.stamp;
  if (stamp) {
    const ms = Date.parse(stamp);
    if (!Number.isNaN(ms)) archived.stampMs = ms;
  }
  if (inner.attrs.to) archived.to = inner.attrs.to;
  if (inner.attrs.type) archived.type = inner.attrs.type;
  if (inner.attrs.id) archived.id = inner.attrs.id;
  const originId = inner.getChild('origin-id', NS.sid)?.attrs.id;
  if (originId) archived.originId = originId;
  return archived;
}
