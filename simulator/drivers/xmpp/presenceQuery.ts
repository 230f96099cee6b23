// The app's presence-query over XMPP, which has no query of a contact's current presence: the
// server pushes a snapshot at login (its answers to the presence probes it sends for the user),
// and changes after. A query made before the snapshot arrived would be answered "offline" for
// every contact not heard from yet (seen in xmpp-flaky-mobile: a device shown a friend offline
// 4 ms before the friend's available presence came, while the friend was connected: D5). So a
// contact heard from on this session is answered from what was heard; any other is asked by
// XEP-0012 last activity on its bare JID, which ejabberd (mod_last, process_sm_iq/get_last_iq)
// answers with seconds = 0 while the contact has a session, else the time since it left (or an
// error when it never logged out); a subscription (friends) is required. Seconds are whole, so
// a contact that left in the last second without a status is still answered online.
import { xml } from '@xmpp/client';
import type { XmppConnection } from './XmppConnection.ts';
import { NS } from './xmppTypes.ts';

/** Per user, whether it is online: from `heard` (user -> resources available) where heard, else XEP-0012. */
export async function answerPresenceQuery(connection: XmppConnection, jidOf: (user: string) => string, users: readonly string[], heard: ReadonlyMap<string, ReadonlySet<string>>): Promise<Array<{ user: string; online: boolean }>> {
  const asked = await Promise.all(users.map(async (user) => {
    if (heard.has(user)) return undefined;
    const answer = await connection.iq(xml('iq', { type: 'get', to: jidOf(user), id: connection.nextId() }, xml('query', { xmlns: NS.last })));
    const query = answer.ok ? answer.value.getChild('query', NS.last) : undefined;
    // Online: 0 s and no status. A stored last activity of the same second also reads 0 s, but
    // carries its status ("Registered but didn't login", or the unavailable presence's status):
    // only a logout without status within the last second still reads as online.
    return query?.attrs.seconds === '0' && query.getText().trim() === '';
  }));
  // A presence heard while asking is newer than the answer.
  return users.map((user, i) => ({ user, online: heard.has(user) ? (heard.get(user)?.size ?? 0) > 0 : asked[i] === true }));
}
