// `target.driver` as the scenario loader reads it: a built-in driver's name, or a module path
// (resolved against the scenario file's directory). The drivers themselves are made by the
// engine (simulator/engine/phoneDrivers.ts).
import { dirname, isAbsolute, resolve } from 'node:path';

/** The drivers chatsim ships (phoneDrivers.ts makes them). */
export const BUILTIN_DRIVER_NAMES = ['chatsim.v1', 'xmpp'] as const;

/** True for a `target.driver` that names a module rather than a built-in driver. */
export function isDriverPath(driver: string): boolean {
  return driver.startsWith('./') || driver.startsWith('../') || isAbsolute(driver) || /\.(ts|mts|js|mjs)$/.test(driver);
}

/** A module path relative to `scenarioFile`'s directory made absolute; a built-in name as it is. */
export function resolveDriver(driver: string, scenarioFile: string): string {
  return isDriverPath(driver) && !isAbsolute(driver) ? resolve(dirname(scenarioFile), driver) : driver;
}

/** Why `driver` cannot be used with `engine`, if it cannot. */
export function driverError(driver: string, engine: 'live' | 'sim'): string | undefined {
  if (!isDriverPath(driver) && !(BUILTIN_DRIVER_NAMES as readonly string[]).includes(driver)) {
    return `unknown driver '${driver}': built-in ones are ${BUILTIN_DRIVER_NAMES.join(', ')}, or give a path to a driver module (./my-driver.ts)`;
  }
  if (engine === 'sim' && driver !== 'chatsim.v1') return `the simulation engine drives chatsim.v1 only (its network and cluster are simulated); '${driver}' needs engine: live`;
  return undefined;
}
