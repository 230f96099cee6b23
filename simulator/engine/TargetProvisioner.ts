import type { Population } from './buildPopulation.ts';
import { provisionTarget, type ApiPort, type ProvisionResult } from './provisionTarget.ts';

/**
 * Port: how a run puts its population on the target it plays against.
 * Contract:
 * - `provision` creates every user (with credentials of the provisioner's choosing), makes every
 *   friendship of `population.friendships` mutual (each receives the other's presence), creates
 *   every chat of `population.chats`, and signs every device in;
 * - it resolves `{ ok: true }` with one ProvisionedDevice per device of the population whose
 *   `token` is what the phones' driver hands the target when it connects (a chatsim.v1 session
 *   token, an XMPP password), `gatewayUrls` the endpoints phones connect to, and `chatIds` the
 *   target's id of every population chat (the ids the driver speaks: `d:a:b` for XMPP 1:1 chats);
 * - it never rejects: an unreachable target is TARGET_UNREACHABLE, anything else that stops it
 *   (a chat the target cannot hold, a refused request) PROVISION_FAILED, with a message that says why.
 */
export interface TargetProvisioner {
  /** Where it provisions, for log lines. */
  readonly where: string;
  provision(population: Population): Promise<ProvisionResult>;
  /**
   * Removes what `provision` created on a shared target (ejabberd: this run's accounts, and only
   * those), once the run is over, however it ended; never rejects. Absent: nothing to remove.
   */
  release?(): Promise<void>;
}

/** chatsim's HTTP API (the reference cluster, the simulation's cluster, or --target). */
export function chatsimProvisioner(api: ApiPort, adminToken: string | undefined): TargetProvisioner {
  return { where: api.where, provision: (population) => provisionTarget(api, adminToken, population) };
}
