import type { TokenService } from '../auth/TokenService.ts';
import type { Directory } from '../ports/Directory.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { ServerLimits } from '../protocol/limits.ts';

export interface AdmissionDeps {
  tokens: TokenService;
  directory: Pick<Directory, 'getUser'>;
  presence: Pick<PresenceStore, 'getMany'>;
  limits: Pick<ServerLimits, 'devicesPerUserMax'>;
}

export type Admission =
  | { ok: true; identity: { user: string; device: string } }
  | { ok: false; status: 401 | 429 | 503; code: 'BAD_TOKEN' | 'TOKEN_EXPIRED' | 'TOO_MANY_DEVICES' | 'UNAVAILABLE' };

/**
 * Decides whether a connection may open, before any WebSocket exists (WsGatewayListener and
 * the simulation's network both ask here). Total: every outcome is a value, a failing backend
 * included.
 *
 * - The token must verify (canonical, signed with the cluster's secret, unexpired; its subject
 *   and device follow the id rule): else 401 BAD_TOKEN / TOKEN_EXPIRED.
 * - Its user must exist in the directory now: a valid signature for a user that does not
 *   exist (never registered, or a secret that leaked before the directory was reset) is
 *   refused as 401 BAD_TOKEN.
 * - At most `devicesPerUserMax` distinct devices of the user may be connected: a device not
 *   already connected, past that count, is refused with 429 TOO_MANY_DEVICES. The count reads
 *   the presence store, so upgrades racing each other may pass together: the limit bounds a
 *   user's connections to about devicesPerUserMax per gateway, not exactly.
 */
export async function admitConnection(deps: AdmissionDeps, token: string | undefined): Promise<Admission> {
  const check = deps.tokens.verify(token);
  if (!check.ok) return { ok: false, status: 401, code: check.code };
  const { sub: user, dev: device } = check.claims;
  try {
    // Both reads at once: one round trip of waiting per upgrade, not two (a connect storm waits
    // on them before any hello). The outcomes are judged in the old order: an unknown user is
    // 401 whatever the presence read did, and a failed read of either is 503.
    const [known, read] = await Promise.allSettled([deps.directory.getUser(user), deps.presence.getMany([user])]);
    if (known.status === 'rejected') throw known.reason;
    if (!known.value) return { ok: false, status: 401, code: 'BAD_TOKEN' };
    if (read.status === 'rejected') throw read.reason;
    const presence = read.value;
    const devices = new Set((presence.get(user)?.entries ?? []).map((entry) => entry.deviceId));
    if (!devices.has(device) && devices.size >= deps.limits.devicesPerUserMax) return { ok: false, status: 429, code: 'TOO_MANY_DEVICES' };
  } catch {
    return { ok: false, status: 503, code: 'UNAVAILABLE' };
  }
  return { ok: true, identity: { user, device } };
}
