// The Tsung side of the XMPP generator comparison (bench/xmppVsTsung.ts): a tsung.xml for
// Debian's Tsung (jabber plugin) and the users CSV it reads. Pure: strings in, strings out.

/** One provisioned user: who logs in and whom it sends its chat messages to. */
export interface TsungUser {
  name: string;
  password: string;
  /** The friend's local part (same domain). */
  friend: string;
}

export interface TsungLoad {
  host: string;
  port: number;
  domain: string;
  /** Absolute path of the CSV written by usersCsv(). */
  usersCsvPath: string;
  users: number;
  /** New users per second (Tsung's arrival rate; ours logs in at the same rate). */
  arrivalPerSecond: number;
  messagesEach: number;
  messageIntervalS: number;
  /** The chat body every message carries (same text on both sides). */
  body: string;
  /** Seconds between a user's login and its first message (its friend is likely in by then). */
  settleS: number;
  /** Seconds the users stay connected after their last message, so their friends' arrive. */
  lingerS: number;
}

/** `name;password;friend` lines, the order Tsung's setdynvars reads them in (order="iter"). */
export function usersCsv(users: readonly TsungUser[]): string {
  for (const u of users) {
    if ([u.name, u.password, u.friend].some((v) => /[;\n\r]/.test(v))) throw new Error(`tsung users CSV: ';' or a newline in ${u.name}'s fields`);
  }
  return users.map((u) => `${u.name};${u.password};${u.friend}\n`).join('');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * A Tsung scenario: every user arrives once (arrival rate, then no more), logs in with SASL
 * PLAIN and binds, sends initial presence, waits `settleS` (not wait_global: one failed login
 * would hang the run), then sends `messagesEach` chat messages to its friend, one per interval, lingers,
 * and closes. The message is raw XML so that it goes to the friend from the CSV, not a random
 * online user.
 */
export function tsungConfig(load: TsungLoad): string {
  // Twice the time the arrivals need, so a loaded machine still launches every user.
  const arrivalS = 2 * Math.max(1, Math.ceil(load.users / load.arrivalPerSecond));
  const message = `<message to='%%_friend%%@${load.domain}' type='chat'><body>${escapeXml(load.body)}</body></message>`;
  return `<?xml version="1.0"?>
<!DOCTYPE tsung SYSTEM "/usr/share/tsung/tsung-1.0.dtd">
<tsung loglevel="notice" dumptraffic="false" version="1.0">
  <clients>
    <client host="localhost" use_controller_vm="true" maxusers="${load.users + 10}"/>
  </clients>
  <servers>
    <server host="${escapeXml(load.host)}" port="${load.port}" type="tcp"/>
  </servers>
  <load>
    <arrivalphase phase="1" duration="${arrivalS + 1}" unit="second">
      <users maxnumber="${load.users}" arrivalrate="${load.arrivalPerSecond}" unit="second"/>
    </arrivalphase>
  </load>
  <options>
    <option type="ts_jabber" name="global_number" value="${load.users}"/>
    <option type="ts_jabber" name="userid_max" value="0"/>
    <option type="ts_jabber" name="domain" value="${escapeXml(load.domain)}"/>
    <option name="file_server" id="userdb" value="${escapeXml(load.usersCsvPath)}"/>
  </options>
  <sessions>
    <session probability="100" name="xmpp-chat" type="ts_jabber">
      <setdynvars sourcetype="file" fileid="userdb" delimiter=";" order="iter">
        <var name="username"/>
        <var name="password"/>
        <var name="friend"/>
      </setdynvars>
      <request subst="true">
        <jabber type="connect" ack="local">
          <xmpp_authenticate username="%%_username%%" passwd="%%_password%%"/>
        </jabber>
      </request>
      <transaction name="authenticate">
        <request><jabber type="auth_sasl" ack="local"/></request>
        <request><jabber type="connect" ack="local"/></request>
        <request><jabber type="auth_sasl_bind" ack="local"/></request>
        <request><jabber type="auth_sasl_session" ack="local"/></request>
      </transaction>
      <request><jabber type="presence:initial" ack="no_ack"/></request>
      <thinktime value="${load.settleS}" random="false"/>
      <for from="1" to="${load.messagesEach}" incr="1" var="i">
        <request subst="true"><jabber type="raw" ack="no_ack" data="${escapeXml(message)}"/></request>
        <thinktime value="${load.messageIntervalS}" random="false"/>
      </for>
      <thinktime value="${load.lingerS}" random="false"/>
      <request><jabber type="close" ack="no_ack"/></request>
    </session>
  </sessions>
</tsung>
`;
}
