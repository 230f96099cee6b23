import type { TokenService } from '../auth/TokenService.ts';
import type { Log } from '../ports/Log.ts';
import type { Directory } from '../ports/Directory.ts';
import type { PresenceStore } from '../ports/PresenceStore.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import type { ServerConnection } from './ServerConnection.ts';

/**
 * How clients reach one gateway: real WebSockets on a port (`WsGatewayListener`) or the
 * simulation's in-process network (`SimNetwork`). The listener admits a connection
 * (admitConnection: token, user, device count) before the gateway sees it.
 *
 * Contract: `listen` starts accepting and resolves with the URL clients connect to; `close`
 * stops accepting new connections (existing ones are the gateway's to close) and is idempotent.
 */
export interface GatewayListener {
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

/** What a listener needs of its gateway: its id and where an admitted link goes (Gateway.accept). */
export interface GatewayEntry {
  readonly id: string;
  /** Takes over an authenticated link; the connection id, or undefined when the gateway has stopped. */
  accept(link: ServerConnection, identity: { user: string; device: string }): string | undefined;
}

export interface GatewayListenerDeps {
  /** The gateway, or a fault wrapper in front of it (server/faults/GatewayPause.ts). */
  gateway: GatewayEntry;
  tokens: TokenService;
  /** Where admission checks that the token's user exists. */
  directory: Directory;
  /** Where admission counts the user's connected devices. */
  presence: PresenceStore;
  limits: ServerLimits;
  /** Where unexpected failures at the listener go (default: JSON lines on stderr). */
  log?: Log;
}

export type GatewayListenerFactory = (deps: GatewayListenerDeps) => GatewayListener;
