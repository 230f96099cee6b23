// XEP-0280 Message Carbons for the XMPP driver: a user's other devices see what this device
// sends and receives while both are online (MAM covers the rest, docs/drivers.md).
// - MessageCarbons enables them on every new session whose server advertises urn:xmpp:carbons:2
//   in disco#info (XEP-0280 section 3); carbons are per session, so a session the server could
//   not resume (a new one) enables them again.
// - unwrapCarbon turns a <received/> or <sent/> wrapper (XEP-0297 <forwarded/>) into the message
//   it copies, after checking it came from our own account: XEP-0280 section 11 (security) says a
//   client MUST ignore a carbon whose wrapping message is not from the user's own bare JID, since
//   anyone can send a stanza that looks like one.
import type { MetricsSink } from '../../metrics/MetricsSink.ts';
import type { ChatPositions } from './ChatPositions.ts';
import type { InboundContext } from './inboundStanzas.ts';
import type { XmppConnection } from './XmppConnection.ts';
import { NS, type IncomingMessage, type XmlElement } from './xmppTypes.ts';

export type CarbonsState = 'enabled' | 'not-advertised' | 'failed';

/** One per driver session: enabling on each new XMPP session, waited for before the app's session begins. */
export class MessageCarbons {
  private enabling: Promise<CarbonsState> | undefined;

  constructor(private readonly connection: XmppConnection, private readonly metrics: MetricsSink) {
    // Emitted when a session (new, not resumed) is settled; a resumed one keeps its carbons.
    connection.on('online', () => { this.enabling = this.enable(); });
  }

  /** The current session's outcome (enables now if no session announced itself yet). */
  ready(): Promise<CarbonsState> {
    this.enabling ??= this.enable();
    return this.enabling;
  }

  private async enable(): Promise<CarbonsState> {
    const features = await this.connection.serverFeatures();
    let state: CarbonsState;
    if (!features.ok) state = 'failed';
    else if (!features.value.includes(NS.carbons)) state = 'not-advertised';
    else state = (await this.connection.enableCarbons()).ok ? 'enabled' : 'failed';
    this.metrics.increment(`xmpp.carbons.${state}`);
    return state;
  }
}

/**
 * A carbon-wrapped message: handled (true) when `stanza` wraps one, whether it was accepted or
 * ignored as forged. Only copies with a body become `message` events (receipts, markers and
 * chat states of the other device are not mapped).
 */
export function unwrapCarbon(ctx: InboundContext, stanza: XmlElement): boolean {
  const wrapper = stanza.getChild('received', NS.carbons) ?? stanza.getChild('sent', NS.carbons);
  if (!wrapper) return false;
  const self = ctx.bareJid.toLowerCase();
  // Our own account's bare JID (RFC 6120 8.1.2.1: no from = from our account); a full JID, even our own, is another client.
  const from = (stanza.attrs.from ?? self).toLowerCase();
  const inner = wrapper.getChild('forwarded', NS.forward)?.getChild('message');
  if (from !== self || !inner) {
    ctx.events.emit('warning', new Error(`ignored a carbon from ${stanza.attrs.from ?? '(none)'}: not from ${ctx.bareJid} (XEP-0280 section 11)`));
    return true;
  }
  const sent = wrapper.name === 'sent';
  // The copied message must be ours too: sent from one of our resources, or received by one.
  const [mine, peer] = sent ? [inner.attrs.from, inner.attrs.to] : [inner.attrs.to, inner.attrs.from];
  const body = inner.getChildText('body');
  if (bareOf(mine ?? '') !== self || !peer || body === null) return true;
  const message: IncomingMessage = {
    type: 'chat', from: bareOf(peer), id: inner.attrs.id ?? '', body, carbon: sent ? 'sent' : 'received',
    receiptRequested: inner.getChild('request', NS.receipts) !== undefined, markable: inner.getChild('markable', NS.markers) !== undefined,
  };
  if (sent) {
    message.carbonSent = true;
    const resource = resourceOf(mine ?? '');
    if (resource) message.ownResource = resource;
  }
  const originId = inner.getChild('origin-id', NS.sid)?.attrs.id;
  if (originId) message.originId = originId;
  // Our archive's id for it (by = our bare JID), where the server put one: the MAM dedupe key.
  const stanzaId = [...inner.getChildren('stanza-id', NS.sid), ...stanza.getChildren('stanza-id', NS.sid)].find((s) => s.attrs.by?.toLowerCase() === self)?.attrs.id;
  if (stanzaId) message.stanzaId = stanzaId;
  ctx.events.emit('message', message);
  return true;
}

function bareOf(jid: string): string {
  return jid.split('/')[0]!.toLowerCase();
}

function resourceOf(jid: string): string | undefined {
  const slash = jid.indexOf('/');
  return slash < 0 ? undefined : jid.slice(slash + 1);
}

/** Whether `chat` already holds the message our archive calls `stanzaId` (a carbon after the MAM page that had it, or the reverse). */
export function heldByArchiveId(positions: ChatPositions, chat: string, stanzaId: string): boolean {
  return positions.between(chat, 0, positions.head(chat)).some((e) => e.archiveId === stanzaId);
}
