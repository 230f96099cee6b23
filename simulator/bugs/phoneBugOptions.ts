import type { BugSet } from '../../server/bugs/BugCatalogue.ts';
import type { PhoneOptions } from '../phone/PhoneOptions.ts';

/**
 * The phone options that switch on the phone-side bugs of a run's bug set (server-side
 * names are ignored here; the cluster takes the same set). Spread into a phone's options.
 */
export function phoneOptionsForBugs(bugs: BugSet): Pick<PhoneOptions, 'swallowTrailingReceipt' | 'noReconnectOnGoingAway' | 'renderDuplicatePush' | 'renderOutOfOrderPush' | 'freshInstallStaleWatermark' | 'wallClockPresence'> {
  return {
    swallowTrailingReceipt: bugs.has('swallow-trailing-receipt'),
    noReconnectOnGoingAway: bugs.has('no-reconnect-on-going-away'),
    renderDuplicatePush: bugs.has('render-duplicate-push'),
    renderOutOfOrderPush: bugs.has('render-out-of-order-push'),
    freshInstallStaleWatermark: bugs.has('fresh-install-stale-watermark'),
    wallClockPresence: bugs.has('phone-wall-clock-presence'),
  };
}
