import type { Random } from '../../server/ports/Random.ts';
import type { LoadSpec, Scenario } from '../scenario/Scenario.ts';
import { friendsOfUsers, pickByShare, type Population } from './buildPopulation.ts';
import type { ProvisionedDevice } from './provisionTarget.ts';
import type { WorkerPhoneSpec } from './workerProtocol.ts';
import { phoneClockSpec } from './clocks.ts';

/**
 * Gives every provisioned device its chats, friends, network profile and start time, and
 * deals the phones out to `workers` worker threads round-robin.
 */
export function assignPhones(scenario: Scenario, population: Population, devices: ProvisionedDevice[], chatIds: Map<string, string>, workers: number, random: Random): WorkerPhoneSpec[][] {
  const chatsOfUser = new Map<string, WorkerPhoneSpec['chats']>();
  for (const chat of population.chats) {
    const spec = { id: chatIds.get(chat.id) ?? chat.id, kind: chat.kind, members: chat.members };
    for (const member of chat.members) {
      let list = chatsOfUser.get(member);
      if (!list) chatsOfUser.set(member, (list = []));
      list.push(spec);
    }
  }
  const friendsOfUser = friendsOfUsers(population);
  const startTimes = startTimesMs(scenario.load, devices.length, random.fork('starts'));
  const profileRandom = random.fork('profiles');
  // Each from its own fork, so these draws move no other (profiles, start times).
  const syncModeRandom = random.fork('sync-modes');
  const clockRandom = random.fork('clocks');
  const tokenShare = scenario.population.tokenSyncShare ?? 0;
  const out: WorkerPhoneSpec[][] = Array.from({ length: workers }, () => []);
  devices.forEach((device, i) => {
    const profile = pickByShare(scenario.network.map((n) => ({ value: n.profile, share: n.share })), profileRandom);
    const token = tokenShare > 0 && syncModeRandom.fork(`${device.user}/${device.device}`).nextFloat() < tokenShare;
    const clock = phoneClockSpec(scenario, `${device.user}/${device.device}`, clockRandom);
    out[i % workers]!.push({
      user: device.user, device: device.device, token: device.token,
      chats: chatsOfUser.get(device.user) ?? [], friends: friendsOfUser.get(device.user) ?? [],
      profile, startAtMs: startTimes[i]!,
      ...(token ? { syncMode: 'token' as const } : {}), ...(clock ? { clock } : {}),
    });
  });
  return out;
}

/** device ("u1/d1") -> the name of the network profile it was given. */
export function profileOfDevices(assignment: readonly WorkerPhoneSpec[][]): Map<string, string> {
  return new Map(assignment.flat().map((spec) => [`${spec.user}/${spec.device}`, spec.profile.name]));
}

/**
 * Closed model: phones connect along the ramps (linear within a stage up to its target).
 * Open model: arrivals form a Poisson process at each stage's rate; phones beyond the
 * stages' total arrivals start at the last stage's end.
 */
export function startTimesMs(load: LoadSpec, phones: number, random: Random): number[] {
  const times: number[] = [];
  if (load.model === 'closed') {
    let stageStartMs = 0;
    let before = 0;
    for (const stage of load.ramp) {
      const target = Math.min(phones, stage.target);
      for (let n = before; n < target; n++) times.push(stageStartMs + ((n - before + random.nextFloat()) / Math.max(1, target - before)) * stage.durationMs);
      before = Math.max(before, target);
      stageStartMs += stage.durationMs;
    }
    while (times.length < phones) times.push(stageStartMs);
  } else {
    let tMs = 0;
    let stageEndMs = 0;
    for (const stage of load.arrival) {
      stageEndMs += stage.durationMs;
      while (times.length < phones && stage.ratePerSec > 0) {
        tMs += (-Math.log(1 - random.nextFloat()) / stage.ratePerSec) * 1000;
        if (tMs > stageEndMs) { tMs = stageEndMs; break; }
        times.push(tMs);
      }
    }
    while (times.length < phones) times.push(stageEndMs);
  }
  return times.map((t) => Math.round(t));
}
