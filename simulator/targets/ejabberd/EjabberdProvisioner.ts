import { randomBytes } from 'node:crypto';
import type { Population } from '../../engine/buildPopulation.ts';
import type { ProvisionedDevice, ProvisionResult } from '../../engine/provisionTarget.ts';
import type { TargetProvisioner } from '../../engine/TargetProvisioner.ts';
import type { AdminResult, EjabberdAdmin } from './EjabberdAdmin.ts';

/** Concurrent admin requests: quick enough for thousands of users, gentle on a 2-core ejabberd. */
const REQUEST_CONCURRENCY = 16;

export interface EjabberdProvisionerOptions {
  admin: EjabberdAdmin;
  /** The XMPP service the phones connect to (ws://host:port/ws over their shaped links, or xmpp://host:port): their one endpoint. */
  xmppUrl: string;
  /** A fresh secret per user (default: 18 random bytes, base64url); never a fixed password. */
  newPassword?: () => string;
  /**
   * Put before every user's name to make its account (`<prefix>u3`): this run's own accounts,
   * which no other run against the same server touches. Default `newUserPrefix()`, random per run.
   * The driver must be given the same (driverOptions.userPrefix).
   */
  userPrefix?: string;
  /** Prefix of room names (`<prefix><n>` for the population's group `g:<n>`); default the run's `<userPrefix>g`. */
  roomPrefix?: string;
}

/** A run's own account prefix: `c` and 8 random hex digits and a dash (`c1f2e3d4a-u3`). */
export function newUserPrefix(): string {
  return `c${randomBytes(4).toString('hex')}-`;
}

/**
 * Provisions a population on ejabberd (TargetProvisioner): each user an account of this run's
 * own (`<userPrefix><user>`, so concurrent runs never share or unregister each other's accounts),
 * registered with a password generated for this run (an account left by an earlier run with the
 * same name, which cannot happen with the random prefix, is unregistered first: its roster,
 * offline messages and MAM archive would otherwise come back as messages nobody in this run
 * sent); each friendship a mutual roster subscription ("both"); each 1:1 chat the XmppDriver's
 * `d:a:b` id (of the population's names: the driver adds the prefix); each group a MUC room of
 * this run's own (`<roomPrefix><n>`: persistent, members-only, archived with MAM:
 * EjabberdAdmin.provisionRoom), its first member the owner and the others members, its chat id
 * the driver's `g:<room>` (no MucSub subscriptions: the driver joins the rooms as an occupant).
 * A device's `token` is its user's password, which the driver uses to sign in (SASL).
 * `release` destroys the rooms and unregisters the accounts this run made, and only those.
 */
export class EjabberdProvisioner implements TargetProvisioner {
  readonly where: string;
  readonly userPrefix: string;
  private readonly registered = new Set<string>();
  private readonly rooms = new Set<string>();

  constructor(private readonly options: EjabberdProvisionerOptions) {
    this.where = `ejabberd ${options.xmppUrl}`;
    this.userPrefix = options.userPrefix ?? newUserPrefix();
  }

  /** Unregisters every account this run registered (with its roster, offline queue and archive). */
  async release(): Promise<void> {
    const rooms = [...this.rooms];
    this.rooms.clear();
    await eachLimited(rooms, async (room) => { await this.options.admin.destroyRoom(room); });
    const accounts = [...this.registered];
    this.registered.clear();
    await eachLimited(accounts, async (account) => { await this.options.admin.unregister(account); });
  }

  async provision(population: Population): Promise<ProvisionResult> {
    const { admin } = this.options;
    const prefix = this.options.roomPrefix ?? `${this.userPrefix}g`;
    const rooms = population.chats.filter((c) => c.kind === 'group').map((c) => ({ chat: c, room: `${prefix}${c.id.replace(/^g:/, '').replace(/[^a-z0-9_-]/gi, '_')}` }));
    const status = await admin.status();
    if (!status.ok) return { ok: false, code: status.error.code === 'unreachable' ? 'TARGET_UNREACHABLE' : 'PROVISION_FAILED', message: `ejabberd status: ${status.error.message}` };
    const newPassword = this.options.newPassword ?? (() => randomBytes(18).toString('base64url'));
    const passwords = new Map(population.users.map((u) => [u.id, newPassword()]));
    const account = (user: string): string => `${this.userPrefix}${user}`;
    try {
      await eachLimited([...passwords], async ([user, password]) => {
        let registered = await admin.register(account(user), password);
        if (!registered.ok && registered.error.code === 'user_exists') {
          await admin.unregister(account(user)); // a name of ours left by an earlier run
          registered = await admin.register(account(user), password);
        }
        must(registered, `register ${account(user)}`);
        this.registered.add(account(user));
      });
      await eachLimited(population.friendships, async ([a, b]) => must(await admin.makeFriends(account(a), account(b)), `friends ${account(a)} ${account(b)}`));
      await eachLimited(rooms, async ({ chat, room }) => {
        await admin.destroyRoom(room); // a name of ours left by an earlier run (absent: an error, ignored)
        must(await admin.provisionRoom(room, chat.members.map(account)), `room ${room}`);
        this.rooms.add(room);
      });
    } catch (error) {
      return { ok: false, code: 'PROVISION_FAILED', message: (error as Error).message };
    }
    const devices: ProvisionedDevice[] = population.users.flatMap((u) => u.devices.map((device) => ({ user: u.id, device, token: passwords.get(u.id)! })));
    const groupIds = new Map(rooms.map(({ chat, room }) => [chat.id, `g:${room}`]));
    const chatIds = new Map(population.chats.map((c) => [c.id, groupIds.get(c.id) ?? directChatId(c.members[0]!, c.members[1]!)]));
    return { ok: true, devices, gatewayUrls: [this.options.xmppUrl], chatIds };
  }
}

/** The XmppDriver's id of the 1:1 chat of `a` and `b` (XmppDriver.directChat). */
export function directChatId(a: string, b: string): string {
  return a < b ? `d:${a}:${b}` : `d:${b}:${a}`;
}

function must(result: AdminResult<unknown>, what: string): void {
  if (!result.ok) throw new Error(`${what}: ${result.error.code}: ${result.error.message}`);
}

async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(REQUEST_CONCURRENCY, items.length) }, worker));
}
