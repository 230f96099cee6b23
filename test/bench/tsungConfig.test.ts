// The Tsung config of the XMPP generator benchmark (bench/xmppVsTsung.ts): well-formed XML with
// the one session the benchmark describes, and a users CSV Tsung's setdynvars can read.
import { describe, expect, it } from 'vitest';
import { parse } from 'ltx';
import { tsungConfig, usersCsv, type TsungLoad } from '../../bench/lib/tsungConfig.ts';

const LOAD: TsungLoad = {
  host: '127.0.0.1', port: 25222, domain: 'localhost', usersCsvPath: '/tmp/x/users.csv', users: 200, arrivalPerSecond: 50,
  messagesEach: 10, messageIntervalS: 1, body: 'a <b> & c', settleS: 2, lingerS: 2,
};

describe('tsungConfig', () => {
  it('writes well-formed XML: one jabber session, the users, the message loop to the friend', () => {
    const xml = tsungConfig(LOAD);
    expect(xml).toMatch(/^<\?xml version="1.0"\?>\n<!DOCTYPE tsung SYSTEM "\/usr\/share\/tsung\/tsung-1.0.dtd">\n/);
    // ltx parses elements only: the prolog and doctype checked above are cut off first (it throws on malformed XML).
    const tsung = parse(xml.replace(/^<\?xml[^>]*>\s*<!DOCTYPE[^>]*>\s*/, ''));
    expect(tsung.name).toBe('tsung');
    expect(tsung.getChild('servers')?.getChild('server')?.attrs.port).toBe('25222');
    expect(tsung.getChild('load')?.getChild('arrivalphase')?.getChild('users')?.attrs.maxnumber).toBe('200');
    const sessions = tsung.getChild('sessions')?.getChildren('session') ?? [];
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.attrs.type).toBe('ts_jabber');
    const loop = sessions[0]!.getChild('for');
    expect(loop?.attrs.to).toBe('10');
    const jabber = loop?.getChild('request')?.getChild('jabber');
    expect(jabber?.attrs.type).toBe('raw');
    expect(jabber?.attrs.data).toBe("<message to='%%_friend%%@localhost' type='chat'><body>a &lt;b&gt; &amp; c</body></message>");
    expect(sessions[0]!.getChild('setdynvars')?.getChildren('var').map((v) => v.attrs.name)).toEqual(['username', 'password', 'friend']);
  });

  it('writes name;password;friend lines and refuses a field with the delimiter', () => {
    expect(usersCsv([{ name: 'u0', password: 'p0', friend: 'u1' }, { name: 'u1', password: 'p1', friend: 'u0' }])).toBe('u0;p0;u1\nu1;p1;u0\n');
    expect(() => usersCsv([{ name: 'u0', password: 'p;0', friend: 'u1' }])).toThrow(/';'/);
  });
});
