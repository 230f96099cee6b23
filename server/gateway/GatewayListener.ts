import type { TokenService } from '../auth/TokenService.ts';
import type { Log } from '../ports/Log.ts';
import type { ServerLimits } from '../protocol/limits.ts';
import type { Gateway } from './Gateway.ts';

/**
 * How clients reach one gateway: real WebSockets on a port (`WsGatewayListener`) or the
 * simulation's in-process network (`SimNetwork`). The listener checks the token before the
 * gateway sees a connection.
 *
 * Contract: `listen` starts accepting and resolves with the URL clients connect to; `close`
 * stops accepting new connections (existing ones are the gateway's to close) and is idempotent.
 */
export interface GatewayListener {
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

export interface GatewayListenerDeps {
  gateway: Gateway;
  tokens: TokenService;
  limits: ServerLimits;
  /** Where unexpected failures at the listener go (default: JSON lines on stderr). */
  log?: Log;
}

export type GatewayListenerFactory = (deps: GatewayListenerDeps) => GatewayListener;
