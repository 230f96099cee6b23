// Which driver a run's phones speak (scenario `target.driver`): a built-in name, or the path of
// a driver module of the user's own whose default export is a DriverFactory. The engine picks
// the driver (the phone's app model never imports one: see the lint rule on simulator/phone).
import { pathToFileURL } from 'node:url';
import type { TimeSource } from '../../server/ports/Clock.ts';
import { ChatsimV1Driver } from '../drivers/chatsimV1/ChatsimV1Driver.ts';
import type { PhoneDriver } from '../drivers/PhoneDriver.ts';
import type { DriverCapabilities } from '../drivers/DriverCapabilities.ts';
import type { Scenario } from '../scenario/Scenario.ts';
import { XmppDriver } from '../drivers/xmpp/XmppDriver.ts';
import type { ClientTransport } from '../transport/ClientTransport.ts';
import { BUILTIN_DRIVER_NAMES, isDriverPath } from '../scenario/driverPath.ts';

/** What a factory gets for one phone. */
export interface DriverContext {
  user: string;
  device: string;
  /** The phone's link to the endpoints, shaped by its network profile (chatsim.v1 frames and XMPP over WebSocket ride on it; a driver with its own sockets may ignore it, and its links are then not shaped). */
  transport: ClientTransport;
  time: TimeSource;
  /** `target.driverOptions` of the scenario, as written. */
  options: Readonly<Record<string, unknown>>;
}

/**
 * Makes one phone's driver. Contract: called once per phone (a driver may keep per-device state
 * across sessions); it must not connect (`open` does), so the engine can call it to read the
 * driver's capabilities.
 */
export type DriverFactory = (context: DriverContext) => PhoneDriver;

export const DEFAULT_DRIVER = 'chatsim.v1';

const BUILTIN: Readonly<Record<(typeof BUILTIN_DRIVER_NAMES)[number], DriverFactory>> = {
  'chatsim.v1': (ctx) => new ChatsimV1Driver(ctx.transport),
  // A ws:// endpoint (RFC 7395) rides the phone's shaped link, so its network profile applies.
  xmpp: (ctx) => new XmppDriver({
    user: ctx.user, device: ctx.device, time: ctx.time, transport: ctx.transport,
    domain: typeof ctx.options.domain === 'string' ? ctx.options.domain : 'localhost',
    ...(ctx.options.saslMechanism === 'PLAIN' ? { saslMechanism: 'PLAIN' as const } : {}),
    ...(typeof ctx.options.userPrefix === 'string' ? { userPrefix: ctx.options.userPrefix } : {}),
    ...(typeof ctx.options.mucDomain === 'string' ? { mucDomain: ctx.options.mucDomain } : {}),
  }),
};

const BUILTIN_DRIVERS: readonly string[] = BUILTIN_DRIVER_NAMES;

export type LoadedDriver = { ok: true; factory: DriverFactory } | { ok: false; message: string };

/** The factory for `driver` (default chatsim.v1); a module path must be absolute (the scenario loader resolves it). */
export async function loadDriverFactory(driver: string | undefined): Promise<LoadedDriver> {
  const name = driver ?? DEFAULT_DRIVER;
  const builtin = (BUILTIN as Readonly<Record<string, DriverFactory | undefined>>)[name];
  if (builtin) return { ok: true, factory: builtin };
  if (!isDriverPath(name)) return { ok: false, message: `unknown driver '${name}': built-in ones are ${BUILTIN_DRIVERS.join(', ')}, or give a path to a driver module` };
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(name).href)) as { default?: unknown };
  } catch (error) {
    return { ok: false, message: `driver module ${name} could not be loaded: ${(error as Error).message}` };
  }
  if (typeof module.default !== 'function') return { ok: false, message: `driver module ${name} must default-export a driver factory (context) => PhoneDriver` };
  return { ok: true, factory: module.default as DriverFactory };
}

/**
 * The run's driver, loaded by the live engine before any worker (a module that does not load fails the run at
 * once), for its capabilities: what it cannot carry, the checkers answer unknown.
 */
export async function driverCapabilitiesOf(scenario: Scenario, time: TimeSource): Promise<{ ok: true; capabilities: DriverCapabilities } | { ok: false; message: string }> {
  // An XMPP server is provisioned by its own provisioner (target.kind ejabberd: users with
  // passwords, rosters, the XMPP service as the endpoint); chatsim's HTTP API cannot give XMPP credentials.
  if (scenario.target?.driver === 'xmpp' && scenario.target.kind !== 'ejabberd') return { ok: false, message: 'driver xmpp needs target.kind ejabberd (chatsim\'s HTTP API does not provision XMPP accounts)' };
  const loaded = await loadDriverFactory(scenario.target?.driver);
  if (!loaded.ok) return loaded;
  const unused: ClientTransport = { open: () => { throw new Error('a driver factory must not connect'); } };
  try {
    const driver = loaded.factory({ user: 'capabilities', device: 'probe', transport: unused, time, options: scenario.target?.driverOptions ?? {} });
    return { ok: true, capabilities: driver.capabilities };
  } catch (error) {
    return { ok: false, message: `driver ${scenario.target?.driver}: its factory threw: ${(error as Error).message}` };
  }
}
