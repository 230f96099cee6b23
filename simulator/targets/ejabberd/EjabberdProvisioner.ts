import { randomBytes } from 'node:crypto';
import type { Population } from '../../engine/buildPopulation.ts';
import type { ProvisionedDevice, ProvisionResult } from '../../engine/provisionTarget.ts';
import type { TargetProvisioner } from '../../engine/TargetProvisioner.ts';
import type { AdminResult, EjabberdAdmin } from './EjabberdAdmin.ts';

/** Concurrent admin requests: quick enough for thousands of users, gentle on a 2-core ejabberd. */
const REQUEST_CONCURRENCY = 16;

export interface EjabberdProvisionerOptions {
  admin: EjabberdAdmin;
  /** The XMPP service the phones connect to (xmpp://host:port): the phones' one endpoint. */
  xmppUrl: string;
  /** A fresh secret per user (default: 18 random bytes, base64url); never a fixed password. */
  newPassword?: () => string;
  /** Prefix of room names (`<prefix><n>` for the population's group `g:<n>`); default `chatsim-g`. */
  roomPrefix?: string;
}

/**
 * Provisions a population on ejabberd (TargetProvisioner): each user re-registered with a
 * password generated for this run (unregistering first drops what an earlier run left: roster,
 * offline messages, the MAM archive, which a sync would otherwise hand back as messages nobody
 * in this run sent); each friendship a mutual roster subscription ("both"); each 1:1 chat the
 * XmppDriver's `d:a:b` id; each group a MUC room (persistent, members-only, archived with MAM:
 * EjabberdAdmin.provisionRoom), destroyed first when an earlier run left it (its archive with it:
 * clear_archive_on_room_destroy), its first member the owner and the others members; its chat id
 * the driver's `g:<room>`. No MucSub subscriptions: the driver joins the rooms as an occupant.
 * A device's `token` is its user's password, which the driver uses to sign in (SASL).
 */
export class EjabberdProvisioner implements TargetProvisioner {
  readonly where: string;

  constructor(private readonly options: EjabberdProvisionerOptions) {
    this.where = `ejabberd ${options.xmppUrl}`;
  }

  async provision(population: Population): Promise<ProvisionResult> {
    const { admin } = this.options;
    const prefix = this.options.roomPrefix ?? 'chatsim-g';
    const rooms = population.chats.filter((c) => c.kind === 'group').map((c) => ({ chat: c, room: `${prefix}${c.id.replace(/^g:/, '').replace(/[^a-z0-9_-]/gi, '_')}` }));
    const status = await admin.status();
    if (!status.ok) return { ok: false, code: status.error.code === 'unreachable' ? 'TARGET_UNREACHABLE' : 'PROVISION_FAILED', message: `ejabberd status: ${status.error.message}` };
    const newPassword = this.options.newPassword ?? (() => randomBytes(18).toString('base64url'));
    const passwords = new Map(population.users.map((u) => [u.id, newPassword()]));
    try {
      await eachLimited([...passwords], async ([user, password]) => {
        await admin.unregister(user); // absent users answer an error; either way the name is free
        must(await admin.register(user, password), `register ${user}`);
      });
      await eachLimited(population.friendships, async ([a, b]) => must(await admin.makeFriends(a, b), `friends ${a} ${b}`));
      await eachLimited(rooms, async ({ chat, room }) => {
        await admin.destroyRoom(room); // absent rooms answer an error; either way the name is free
        must(await admin.provisionRoom(room, chat.members), `room ${room}`);
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
