// The drivers' contract (driverContract.ts) for the toy driver (test/phone/ToyDriver.ts): an
// in-memory server on fake time, no read markers, presence or typing (those cases skip).
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { ToyDriver, ToyServer, TOY_CAPABILITIES } from '../phone/ToyDriver.ts';
import { driverContract, type DriverRig } from './driverContract.ts';

const CHAT = 'd:alice:bob';

driverContract('toy', TOY_CAPABILITIES, async (): Promise<DriverRig> => {
  const time = new ManualTime();
  const server = new ToyServer(time, { [CHAT]: ['alice', 'bob'] });
  const device = (user: string, name = 'd1') => ({ user, device: name, driver: new ToyDriver(server), endpoint: `toy://${user}/${name}`, token: 't' });
  return {
    chat: CHAT, alice: device('alice'), aliceOther: device('alice', 'd2'), bob: device('bob'), patienceTicks: 100,
    tick: async () => { time.advance(5); },
    stop: async () => {},
  };
});
