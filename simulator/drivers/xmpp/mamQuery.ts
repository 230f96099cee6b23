import { xml } from '@xmpp/client';
import type { Node as XmlNode } from '@xmpp/xml';
import { NS, type ArchivedMessage, type MamPage, type MamQuery, type XmlElement } from './xmppTypes.ts';

/** XEP-0313: the IQ asking for one page of an archive (`queryId` tags its result stanzas). */
export function mamQueryIq(query: MamQuery, queryId: string, iqId: string): unknown {
  const fields: XmlNode[] = [xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS.mam))];
  if (query.with) fields.push(xml('field', { var: 'with' }, xml('value', {}, query.with)));
  const set: XmlNode[] = [xml('max', {}, String(query.max ?? 50))];
  if (query.afterId) set.push(xml('after', {}, query.afterId));
  const attrs: Record<string, string> = { type: 'set', id: iqId };
  if (query.archive) attrs.to = query.archive;
  return xml('iq', attrs, xml('query', { xmlns: NS.mam, queryid: queryId },
    xml('x', { xmlns: NS.dataForms, type: 'submit' }, ...fields), xml('set', { xmlns: NS.rsm }, ...set)));
}

/** The page an IQ answer (<fin/>) closes: the messages collected before it, and where it ends. */
export function mamPageOf(answer: XmlElement, collected: ArchivedMessage[]): MamPage {
  const fin = answer.getChild('fin', NS.mam);
  const rsm = fin?.getChild('set', NS.rsm);
  const page: MamPage = { messages: collected, complete: fin?.attrs.complete === 'true' };
  const first = rsm?.getChildText('first');
  const last = rsm?.getChildText('last');
  if (first) page.first = first;
  if (last) page.last = last;
  return page;
}
