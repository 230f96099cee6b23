// XEP-0352 Client State Indication for the XMPP driver: the app's `app-state` intent
// (simulator/drivers/PhoneDriver.ts) becomes <inactive xmlns='urn:xmpp:csi:0'/> when the app goes
// to the background and <active/> when it comes back, on a stream whose features offer
// <csi xmlns='urn:xmpp:csi:0'/> (XEP-0352 section 3). A server that does not offer it is told
// nothing. While a client is inactive, ejabberd's mod_client_state holds standalone chat states
// (queue_chat_states; presence too where queue_presence is on, which the project's config turns
// off: .ci/ejabberd/ejabberd.yml) and releases them on <active/>: docs/drivers.md ("Background")
// says what that changes for the checkers.
import type { MetricsSink } from '../../metrics/MetricsSink.ts';
import type { XmppConnection } from './XmppConnection.ts';
import { NS } from './xmppTypes.ts';

export type ClientState = 'active' | 'inactive';

/** What this needs of a connection (a fake one in unit tests). */
export type CsiConnection = Pick<XmppConnection, 'online' | 'offersStreamFeature' | 'setClientState' | 'on'>;

export class ClientStateIndication {
  private wanted: ClientState = 'active';
  /** What the server was last told on this stream; undefined: not known (a resumed stream). */
  private told: ClientState | undefined = 'active';

  constructor(private readonly connection: CsiConnection, private readonly metrics: MetricsSink) {
    // A new session starts active (XEP-0352 section 3: the client is active until it says otherwise).
    connection.on('online', () => { this.told = 'active'; this.apply(); });
    // A resumed stream may or may not have kept the state: say it again. xmpp.js is back online right after this event.
    connection.on('resumed', () => { this.told = undefined; void Promise.resolve().then(() => this.apply()); });
  }

  /** The app is visible (`true`) or in the background. */
  set(foreground: boolean): void {
    this.wanted = foreground ? 'active' : 'inactive';
    this.apply();
  }

  get state(): ClientState {
    return this.wanted;
  }

  private apply(): void {
    if (!this.connection.online || this.told === this.wanted) return;
    if (!this.connection.offersStreamFeature('csi', NS.csi)) {
      this.metrics.increment('xmpp.csi.not-offered');
      this.told = this.wanted; // nothing to tell this stream
      return;
    }
    const state = this.wanted;
    this.told = state;
    this.metrics.increment(`xmpp.csi.${state}`);
    this.connection.setClientState(state).catch(() => {
      // The link went down mid-write: the next stream is told again.
      if (this.told === state) this.told = undefined;
    });
  }
}

/**
 * Whether a chat state is live news. One the server held and stamped with a XEP-0203 delay
 * (ejabberd's mod_client_state releases what it queued for an inactive client with
 * <delay>Client Inactive</delay>, on <active/> or when a message of the same sender comes)
 * tells what the peer did while this app was in the background: "typing" then is not typing
 * now, so the app does not show it (counted as xmpp.chatStates.stale).
 */
export function isLiveChatState(delayed: boolean | undefined, metrics: MetricsSink): boolean {
  if (!delayed) return true;
  metrics.increment('xmpp.chatStates.stale');
  return false;
}
