/**
 * Provisioning of a real ejabberd through its HTTP API (mod_http_api, `POST /api/<command>` with
 * a JSON object of arguments). chatsim's config (.ci/ejabberd/ejabberd.yml) admits callers from
 * 127.0.0.0/8 without credentials, so nothing here holds a secret: user passwords are the caller's
 * (tests generate them per run).
 *
 * Every method answers a value, never throws: `{ ok: true, value }` or `{ ok: false, error }` with
 * a stable `code` (AdminErrorCode). What ejabberd 23.01 answers:
 * - a command that succeeded: HTTP 200 with its result (a string for `register`, 0 for commands
 *   that return a `rescode`, a list for `subscribe_room`, ...);
 * - a command that failed: HTTP 4xx/5xx with `{"status":"error","code":N,"message":"..."}`
 *   (10090 for a user that is already registered; `rescode` commands answer 1 or an error);
 * - a room command that failed: HTTP 400 with a bare JSON string ("Room already exists");
 * - an unknown command: 404 `{"code":40,"message":"Endpoint not found."}`.
 * See docs/drivers.md, "ejabberd".
 */

/** Stable codes of a failed provisioning call. */
export type AdminErrorCode =
  /** No TCP connection, or no answer within `requestTimeoutMs`. */
  | 'unreachable'
  /** The command does not exist on this server (a module not loaded: mod_admin_extra, mod_muc_admin). */
  | 'unknown_command'
  /** `register` of a user that exists. */
  | 'user_exists'
  /** `create_room_with_opts` of a room that exists. */
  | 'room_exists'
  /** A room command on a room that does not exist. */
  | 'no_such_room'
  /** The API refused the caller (api_permissions). */
  | 'not_allowed'
  /** ejabberd ran the command and reported a failure. */
  | 'command_failed'
  /** An answer this module cannot read (not JSON, or an unexpected shape). */
  | 'bad_response';

export interface AdminError {
  code: AdminErrorCode;
  command: string;
  message: string;
  httpStatus?: number;
  /** ejabberd's own error code, when it gave one. */
  ejabberdCode?: number;
}

export type AdminResult<T> = { ok: true; value: T } | { ok: false; error: AdminError };

export type RosterSubscription = 'both' | 'to' | 'from' | 'none';
export type RoomAffiliation = 'owner' | 'admin' | 'member' | 'outcast' | 'none';

/** MucSub nodes (ejabberd's XEP extension): what a subscribed member receives without joining. */
export const MUCSUB_NODES_DEFAULT = ['urn:xmpp:mucsub:nodes:messages', 'urn:xmpp:mucsub:nodes:affiliations'] as const;

export interface EjabberdAdminOptions {
  /** e.g. http://127.0.0.1:25280/api (scripts/ejabberd.sh env). */
  baseUrl: string;
  /** The XMPP domain users live on (EJABBERD_DOMAIN, default localhost). */
  domain: string;
  /** The MUC service (default conference.<domain>). */
  mucDomain?: string;
  /** Per request, milliseconds (default 10,000). */
  requestTimeoutMs?: number;
  /** Injected for tests of this module; the global fetch otherwise. */
  fetchImpl?: typeof fetch;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** ejabberd's error code for "User ... already registered". */
const EJABBERD_USER_EXISTS = 10090;
/** ejabberd's error codes for api_permissions refusals (31: no access, 32: not allowed). */
const EJABBERD_NOT_ALLOWED = new Set([31, 32]);
const EJABBERD_UNKNOWN_COMMAND = 40;

export interface RoomSpec {
  /** Room local name; the room's JID is <name>@<mucDomain>. */
  name: string;
  /** Room options as ejabberd names them (persistent, members_only, mam, allow_subscription, ...). */
  options?: Record<string, string | number | boolean>;
}

export class EjabberdAdmin {
  readonly domain: string;
  readonly mucDomain: string;
  private readonly baseUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: EjabberdAdminOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.domain = options.domain;
    this.mucDomain = options.mucDomain ?? `conference.${options.domain}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  jid(user: string): string {
    return `${user}@${this.domain}`;
  }

  roomJid(room: string): string {
    return `${room}@${this.mucDomain}`;
  }

  /** Any mod_http_api command, its JSON answer as is. */
  async call(command: string, args: Record<string, unknown>): Promise<AdminResult<unknown>> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}/${encodeURIComponent(command)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(args),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (err) {
      return fail('unreachable', command, `POST ${this.baseUrl}/${command}: ${describe(err)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      return fail('unreachable', command, `reading the answer: ${describe(err)}`, response.status);
    }
    let body: unknown;
    try {
      body = text === '' ? '' : JSON.parse(text);
    } catch {
      return fail('bad_response', command, `not JSON: ${text.slice(0, 200)}`, response.status);
    }
    if (response.ok) return { ok: true, value: body };
    const code = isRecord(body) && typeof body.code === 'number' ? body.code : undefined;
    // Room commands answer a bare JSON string ("Room already exists", "Room doesn't exists").
    const message = isRecord(body) && typeof body.message === 'string' ? body.message
      : typeof body === 'string' ? body : text.slice(0, 200);
    const error: AdminError = {
      code: code === EJABBERD_USER_EXISTS ? 'user_exists'
        : /^room already exists/i.test(message) ? 'room_exists'
        : /^room doesn't exist/i.test(message) ? 'no_such_room'
        : code === EJABBERD_UNKNOWN_COMMAND || response.status === 404 ? 'unknown_command'
          : (code !== undefined && EJABBERD_NOT_ALLOWED.has(code)) || response.status === 401 || response.status === 403 ? 'not_allowed'
            : 'command_failed',
      command, message, httpStatus: response.status,
    };
    if (code !== undefined) error.ejabberdCode = code;
    return { ok: false, error };
  }

  /** A command that returns ejabberd's `rescode`: 0 is success. */
  private async rescode(command: string, args: Record<string, unknown>): Promise<AdminResult<void>> {
    const result = await this.call(command, args);
    if (!result.ok) return result;
    if (result.value === 0 || result.value === '' || result.value === 'ok') return { ok: true, value: undefined };
    return fail('command_failed', command, `ejabberd answered ${JSON.stringify(result.value)}`, 200);
  }

  /** ejabberd's status line ("The node ... is started ..."). */
  async status(): Promise<AdminResult<string>> {
    const result = await this.call('status', {});
    if (!result.ok) return result;
    return typeof result.value === 'string' ? { ok: true, value: result.value } : fail('bad_response', 'status', JSON.stringify(result.value));
  }

  /** Register `user` on the domain. An existing user is the `user_exists` error. */
  async register(user: string, password: string): Promise<AdminResult<void>> {
    const result = await this.call('register', { user, host: this.domain, password });
    return result.ok ? { ok: true, value: undefined } : result;
  }

  /** Register, or set the password of a user that exists (idempotent provisioning). */
  async ensureUser(user: string, password: string): Promise<AdminResult<void>> {
    const registered = await this.register(user, password);
    if (registered.ok || registered.error.code !== 'user_exists') return registered;
    return this.rescode('change_password', { user, host: this.domain, newpass: password });
  }

  async unregister(user: string): Promise<AdminResult<void>> {
    return this.rescode('unregister', { user, host: this.domain });
  }

  /** End one session (a device) at once: the client gets a stream error, and the session cannot be resumed. */
  async kickSession(user: string, resource: string, reason = 'kicked by chatsim'): Promise<AdminResult<void>> {
    return this.rescode('kick_session', { user, host: this.domain, resource, reason });
  }

  /** One roster item: `contact` on `owner`'s roster with the given subscription state. */
  async addRosterItem(owner: string, contact: string, subs: RosterSubscription, opts: { nick?: string; group?: string } = {}): Promise<AdminResult<void>> {
    return this.rescode('add_rosteritem', {
      localuser: owner, localhost: this.domain,
      user: contact, host: this.domain,
      nick: opts.nick ?? contact, group: opts.group ?? 'friends', subs,
    });
  }

  /**
   * Mutual friends: each on the other's roster with subscription "both", so each receives the
   * other's presence (RFC 6121) without a subscription handshake.
   */
  async makeFriends(a: string, b: string): Promise<AdminResult<void>> {
    const ab = await this.addRosterItem(a, b, 'both');
    if (!ab.ok) return ab;
    return this.addRosterItem(b, a, 'both');
  }

  /** Create a MUC room with options (values as strings, ejabberd's form: "true", "1000"). */
  async createRoom(room: RoomSpec): Promise<AdminResult<void>> {
    const options = Object.entries(room.options ?? {}).map(([name, value]) => ({ name, value: String(value) }));
    return this.rescode('create_room_with_opts', { name: room.name, service: this.mucDomain, host: this.domain, options });
  }

  async destroyRoom(room: string): Promise<AdminResult<void>> {
    return this.rescode('destroy_room', { name: room, service: this.mucDomain });
  }

  async setRoomAffiliation(room: string, user: string, affiliation: RoomAffiliation): Promise<AdminResult<void>> {
    return this.rescode('set_room_affiliation', { name: room, service: this.mucDomain, jid: this.jid(user), affiliation });
  }

  /**
   * MucSub subscription: `user` receives the room's messages (wrapped as pubsub events) even while
   * not joined. Answers the nodes subscribed.
   */
  async subscribeRoom(room: string, user: string, nick: string, nodes: readonly string[] = MUCSUB_NODES_DEFAULT): Promise<AdminResult<string[]>> {
    const result = await this.call('subscribe_room', { user: this.jid(user), nick, room: this.roomJid(room), nodes: nodes.join(',') });
    if (!result.ok) return result;
    return Array.isArray(result.value) && result.value.every((n) => typeof n === 'string')
      ? { ok: true, value: result.value as string[] }
      : fail('bad_response', 'subscribe_room', JSON.stringify(result.value));
  }

  /**
   * A group: the room (persistent, members-only, archived with MAM, subscriptions allowed), the
   * first member its owner, every member affiliated "member", and subscribed when `subscribe`.
   */
  async provisionRoom(room: string, members: readonly string[], opts: { subscribe?: boolean; options?: RoomSpec['options'] } = {}): Promise<AdminResult<void>> {
    const created = await this.createRoom({
      name: room,
      options: { persistent: true, members_only: true, mam: true, allow_subscription: true, max_users: 1000, ...opts.options },
    });
    if (!created.ok) return created;
    for (const [index, member] of members.entries()) {
      const affiliated = await this.setRoomAffiliation(room, member, index === 0 ? 'owner' : 'member');
      if (!affiliated.ok) return affiliated;
      if (opts.subscribe) {
        const subscribed = await this.subscribeRoom(room, member, member);
        if (!subscribed.ok) return subscribed;
      }
    }
    return { ok: true, value: undefined };
  }
}

function fail(code: AdminErrorCode, command: string, message: string, httpStatus?: number): { ok: false; error: AdminError } {
  const error: AdminError = { code, command, message };
  if (httpStatus !== undefined) error.httpStatus = httpStatus;
  return { ok: false, error };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
