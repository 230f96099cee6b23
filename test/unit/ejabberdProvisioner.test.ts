// Issue 17: two runs against one ejabberd must not clash. Each run's EjabberdProvisioner
// registers accounts of its own (a random per-run prefix), and release() unregisters those and
// only those. The fake admin below keeps accounts as ejabberd does (register answers user_exists
// for a taken name).
import { describe, expect, it } from 'vitest';
import type { Population } from '../../simulator/engine/buildPopulation.ts';
import type { AdminResult, EjabberdAdmin } from '../../simulator/targets/ejabberd/EjabberdAdmin.ts';
import { EjabberdProvisioner, newUserPrefix } from '../../simulator/targets/ejabberd/EjabberdProvisioner.ts';
import { XmppDriver } from '../../simulator/drivers/xmpp/XmppDriver.ts';

const ok = { ok: true as const, value: undefined };

class FakeAdmin {
  readonly accounts = new Map<string, string>();
  readonly friends: Array<[string, string]> = [];
  status(): Promise<AdminResult<string>> { return Promise.resolve({ ok: true, value: 'started' }); }
  register(user: string, password: string): Promise<AdminResult<void>> {
    if (this.accounts.has(user)) return Promise.resolve({ ok: false, error: { code: 'user_exists', command: 'register', message: `${user} exists` } });
    this.accounts.set(user, password);
    return Promise.resolve(ok);
  }
  unregister(user: string): Promise<AdminResult<void>> {
    this.accounts.delete(user);
    return Promise.resolve(ok);
  }
  makeFriends(a: string, b: string): Promise<AdminResult<void>> {
    if (!this.accounts.has(a) || !this.accounts.has(b)) return Promise.resolve({ ok: false, error: { code: 'command_failed', command: 'add_rosteritem', message: 'no such user' } });
    this.friends.push([a, b]);
    return Promise.resolve(ok);
  }
}

const population: Population = {
  users: [{ id: 'u0', devices: ['d0'] }, { id: 'u1', devices: ['d0', 'd1'] }],
  chats: [{ id: 'c0', kind: 'direct', name: 'c0', members: ['u0', 'u1'] }],
  friendships: [['u0', 'u1']],
};

describe('EjabberdProvisioner: accounts of the run\'s own', () => {
  it('two runs on one server register disjoint accounts; each release removes its own only', async () => {
    const admin = new FakeAdmin();
    const one = new EjabberdProvisioner({ admin: admin as unknown as EjabberdAdmin, xmppUrl: 'xmpp://127.0.0.1:1' });
    const two = new EjabberdProvisioner({ admin: admin as unknown as EjabberdAdmin, xmppUrl: 'xmpp://127.0.0.1:1' });
    expect(one.userPrefix).not.toBe(two.userPrefix);
    expect(one.userPrefix).toMatch(/^c[0-9a-f]{8}-$/);
    const [a, b] = [await one.provision(population), await two.provision(population)];
    expect(a.ok && b.ok).toBe(true);
    expect([...admin.accounts.keys()].sort()).toEqual([`${one.userPrefix}u0`, `${one.userPrefix}u1`, `${two.userPrefix}u0`, `${two.userPrefix}u1`].sort());
    expect(admin.friends).toEqual([[`${one.userPrefix}u0`, `${one.userPrefix}u1`], [`${two.userPrefix}u0`, `${two.userPrefix}u1`]]);
    // The phones see the population's names: the driver adds the prefix (driverOptions.userPrefix).
    if (a.ok) expect([a.devices.map((d) => `${d.user}/${d.device}`), [...a.chatIds.values()]]).toEqual([['u0/d0', 'u1/d0', 'u1/d1'], ['d:u0:u1']]);
    await one.release();
    expect([...admin.accounts.keys()].sort()).toEqual([`${two.userPrefix}u0`, `${two.userPrefix}u1`].sort());
    await two.release();
    expect(admin.accounts.size).toBe(0);
  });

  it('an account of its own name left by an earlier run is replaced; someone else\'s u0 is never touched', async () => {
    const admin = new FakeAdmin();
    admin.accounts.set('u0', 'someone else');
    const prefix = newUserPrefix();
    admin.accounts.set(`${prefix}u0`, 'stale');
    const run = new EjabberdProvisioner({ admin: admin as unknown as EjabberdAdmin, xmppUrl: 'xmpp://127.0.0.1:1', userPrefix: prefix, newPassword: () => 'fresh' });
    expect((await run.provision(population)).ok).toBe(true);
    expect(admin.accounts.get(`${prefix}u0`)).toBe('fresh');
    await run.release();
    expect([...admin.accounts]).toEqual([['u0', 'someone else']]);
  });
});

describe('XmppDriver with a run\'s user prefix', () => {
  it('signs in and addresses peers as <prefix>user, and maps JIDs back to the population\'s names', () => {
    const driver = new XmppDriver({ user: 'u0', device: 'd0', domain: 'localhost', userPrefix: 'c0a1b2c3d-' });
    expect(driver.peerJid('d:u0:u1')).toBe('c0a1b2c3d-u1@localhost');
    expect(driver.userOf('c0a1b2c3d-u1@localhost/d1')).toBe('u1');
    expect(driver.directChat(driver.userOf('C0A1B2C3D-U1@localhost'))).toBe('d:u0:u1');
    const plain = new XmppDriver({ user: 'u0', device: 'd0', domain: 'localhost' });
    expect([plain.peerJid('d:u0:u1'), plain.userOf('u1@localhost')]).toEqual(['u1@localhost', 'u1']);
  });
});
