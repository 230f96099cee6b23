// What a phone driver (simulator/drivers/PhoneDriver.ts) can do over its wire protocol, and how
// a checker turns "the protocol cannot show this" into an `unknown` verdict instead of a failure.
import type { DriverCapabilities, DriverCapability, PropertyResult } from '../types/runTypes.ts';

// The capability types live in the leaf simulator/types/runTypes.ts (RunFacts names them).
export type { DriverCapability, DriverCapabilities };

/** A driver that can do everything (chatsim.v1 is one). */
export const ALL_CAPABILITIES: DriverCapabilities = Object.freeze({
  serverOrder: true, receipts: true, readMarkers: true, presence: true, typing: true, syncFromPosition: true, idempotentSend: true,
});

const CAPABILITY_NAMES = Object.keys(ALL_CAPABILITIES) as DriverCapability[];

/**
 * What the driver carries in group chats: its declared capabilities with the `groups`
 * differences applied (none at all for `groups: false`); the same object when nothing differs.
 */
export function groupCapabilities(capabilities: DriverCapabilities | undefined): DriverCapabilities | undefined {
  if (!capabilities || capabilities.groups === undefined) return capabilities;
  const inGroups = capabilities.groups;
  return Object.fromEntries(CAPABILITY_NAMES.map((name) => [name, inGroups !== false && (inGroups[name] ?? capabilities[name])])) as Record<DriverCapability, boolean>;
}

/**
 * Why a property cannot be judged under `capabilities`, or undefined when every capability it
 * `needs` is there. Undefined capabilities (a run that did not say) count as all present.
 */
export function missingCapabilityReason(capabilities: DriverCapabilities | undefined, needs: readonly DriverCapability[]): string | undefined {
  if (!capabilities) return undefined;
  const missing = needs.filter((need) => !capabilities[need]);
  return missing.length === 0 ? undefined : `the phone driver does not support ${missing.join(', ')}: the history cannot show this property`;
}

/**
 * For checkers: `result` as it is when the driver supports what the property `needs`, otherwise
 * the same property as `unknown` with the reason (no violations: nothing could be observed).
 */
export function judgedIfCapable(result: PropertyResult, capabilities: DriverCapabilities | undefined, needs: readonly DriverCapability[]): PropertyResult {
  const reason = missingCapabilityReason(capabilities, needs);
  if (reason === undefined) return result;
  return { id: result.id, name: result.name, verdict: 'unknown', violations: 0, examples: [], reason };
}
