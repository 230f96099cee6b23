// The drivers' contract (driverContract.ts) for chatsim.v1: the in-process reference cluster,
// real WebSockets on loopback (WsClientTransport), the cluster's clock faked (it moves as the
// waits tick; sockets move on their own).
import { ALL_CAPABILITIES } from '../../simulator/drivers/DriverCapabilities.ts';
import { ChatsimV1Driver } from '../../simulator/drivers/chatsimV1/ChatsimV1Driver.ts';
import { WsClientTransport } from '../../simulator/drivers/chatsimV1/WsClientTransport.ts';
import { startHarness } from '../support/harness.ts';
import { settle } from '../support/TestClient.ts';
import { driverContract, type DriverRig } from './driverContract.ts';

driverContract('chatsim.v1', ALL_CAPABILITIES, async (): Promise<DriverRig> => {
  const h = await startHarness();
  const chat = await h.createChat('alice', 'direct', ['bob']);
  await h.befriend('alice', 'bob');
  const group = await h.createChat('alice', 'group', ['bob', 'carol'], 'contract group');
  const transport = new WsClientTransport();
  const device = async (user: string, name = 'd1') => ({ user, device: name, driver: new ChatsimV1Driver(transport), endpoint: h.gatewayUrls[0]!, token: await h.login(user, name) });
  return {
    chat, alice: await device('alice'), aliceOther: await device('alice', 'd2'), bob: await device('bob'), group: { chat: group, carol: await device('carol') }, patienceTicks: 200,
    tick: async () => { h.time.advance(50); await settle(10); },
    stop: () => h.stop(),
  };
});
