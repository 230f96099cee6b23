// The drivers' contract (driverContract.ts) for XMPP (simulator/drivers/xmpp/XmppDriver.ts)
// against a real ejabberd (scripts/ejabberd.sh, started here when not running, as test/xmpp
// does), twice: over TCP from xmpp.js's own sockets, and over WebSocket (RFC 7395) on a chatsim
// ClientTransport (a real `ws` client, as a run's phones use under their shaped links). Users,
// passwords and their roster friendship are made for each case. Without ejabberd the suite is
// skipped with the reason, except with CI=true, where that is a failure.
import { afterAll, describe, it } from 'vitest';
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { XMPP_CAPABILITIES, XmppDriver } from '../../simulator/drivers/xmpp/XmppDriver.ts';
import { EjabberdAdmin } from '../../simulator/targets/ejabberd/EjabberdAdmin.ts';
import type { ClientTransport } from '../../simulator/transport/ClientTransport.ts';
import { ensureEjabberd, registerUsers, stopIfStarted, uniqueUser, webSocketReason, type EjabberdEndpoints } from '../support/ejabberdRig.ts';
import { driverContract, type DriverRig } from './driverContract.ts';

const ready = await ensureEjabberd();
const skipReason = ready.ok ? undefined : `no ejabberd (${ready.reason}); start one with: bash scripts/ejabberd.sh start`;
const endpoints = (ready.ok ? ready.endpoints : undefined) as EjabberdEndpoints;
const wsSkipReason = skipReason ?? await webSocketReason(endpoints);
if (wsSkipReason && process.env.CI === 'true') {
  describe('ejabberd for the XMPP driver contract', () => {
    it('is running or can be started, with /ws (required when CI=true)', () => { throw new Error(`CI=true but ${wsSkipReason}`); });
  });
}
afterAll(() => stopIfStarted(endpoints));

function rigOver(endpoint: () => string, transport?: ClientTransport): () => Promise<DriverRig> {
  return async () => {
    const admin = new EjabberdAdmin({ baseUrl: endpoints.apiUrl, domain: endpoints.domain, mucDomain: endpoints.mucDomain });
    const [a, b, c] = await registerUsers(admin, ['alice', 'bob', 'carol']);
    const friends = await admin.makeFriends(a!.name, b!.name);
    if (!friends.ok) throw new Error(`makeFriends: ${friends.error.message}`);
    // The group: a members-only room archived with MAM, as EjabberdProvisioner makes one.
    const room = uniqueUser('contract-room');
    const provisioned = await admin.provisionRoom(room, [a!.name, b!.name, c!.name]);
    if (!provisioned.ok) throw new Error(`provisionRoom: ${provisioned.error.message}`);
    const device = (user: { name: string; password: string }, name = 'phone') => ({
      user: user.name, device: name, endpoint: endpoint(), token: user.password,
      driver: new XmppDriver({ user: user.name, device: name, domain: endpoints.domain, mucDomain: endpoints.mucDomain, saslMechanism: 'PLAIN', ...(transport ? { transport } : {}) }),
    });
    const alice = device(a!);
    const bob = device(b!);
    const chat = (alice.driver as XmppDriver).directChat(b!.name);
    return {
      chat, alice, aliceOther: device(a!, 'tablet'), bob, group: { chat: `g:${room}`, carol: device(c!) }, patienceTicks: 250,
      tick: () => new Promise((resolve) => setTimeout(resolve, 20)),
      stop: async () => {
        await admin.destroyRoom(room);
        for (const user of [a!, b!, c!]) await admin.unregister(user.name);
      },
    };
  };
}

driverContract('xmpp', XMPP_CAPABILITIES, rigOver(() => endpoints.service), skipReason, 'over TCP');
driverContract('xmpp', XMPP_CAPABILITIES, rigOver(() => endpoints.wsService, new WsClientTransport()), wsSkipReason, 'over WebSocket (RFC 7395) on a ClientTransport');
