// XEP-0352 in the XMPP driver (simulator/drivers/xmpp/clientState.ts) on a fake connection: what
// is sent for each app state, only on a stream that offers csi, again after a new session or a
// resumption. The real server's side is test/drivers/xmppXeps.test.ts.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ClientStateIndication, isLiveChatState, type CsiConnection } from '../../simulator/drivers/xmpp/clientState.ts';
import { RecordingMetrics } from '../phone/fixtures.ts';

class FakeConnection extends EventEmitter {
  online = true;
  offersCsi = true;
  readonly told: string[] = [];
  offersStreamFeature(name: string, xmlns: string): boolean {
    return this.offersCsi && name === 'csi' && xmlns === 'urn:xmpp:csi:0';
  }
  setClientState(state: 'active' | 'inactive'): Promise<void> {
    this.told.push(state);
    return Promise.resolve();
  }
}

const make = (offersCsi = true) => {
  const connection = new FakeConnection();
  connection.offersCsi = offersCsi;
  const metrics = new RecordingMetrics();
  return { connection, metrics, csi: new ClientStateIndication(connection as unknown as CsiConnection, metrics) };
};

describe('XEP-0352 client state indication', () => {
  it('says inactive going to the background and active coming back, each change once', () => {
    const { connection, csi } = make();
    csi.set(true); // a new stream is active already
    csi.set(false);
    csi.set(false);
    csi.set(true);
    expect(connection.told).toEqual(['inactive', 'active']);
  });

  it('tells a server that does not offer csi nothing', () => {
    const { connection, csi, metrics } = make(false);
    csi.set(false);
    csi.set(true);
    expect(connection.told).toEqual([]);
    expect(metrics.count('xmpp.csi.not-offered')).toBe(2);
  });

  it('a background app says inactive again on a new session (which starts active) and after a resumption; nothing while offline', async () => {
    const { connection, csi } = make();
    connection.online = false;
    csi.set(false);
    expect(connection.told).toEqual([]);
    connection.online = true;
    connection.emit('online');
    expect(connection.told).toEqual(['inactive']);
    connection.emit('resumed');
    await Promise.resolve();
    expect(connection.told).toEqual(['inactive', 'inactive']);
    csi.set(true);
    connection.emit('online');
    expect(connection.told).toEqual(['inactive', 'inactive', 'active']);
  });

  it('a chat state the server held (delay stamp) is not live', () => {
    const metrics = new RecordingMetrics();
    expect(isLiveChatState(undefined, metrics)).toBe(true);
    expect(isLiveChatState(true, metrics)).toBe(false);
    expect(metrics.count('xmpp.chatStates.stale')).toBe(1);
  });
});
