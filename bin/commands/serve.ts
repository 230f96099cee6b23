import { InvalidArgumentError, type Command } from 'commander';
import { Cluster } from '../../server/Cluster.ts';
import { createSystemTime } from '../../server/runtime/systemTime.ts';

/** `chatsim serve`: the reference cluster in one process, in-memory backends. */
export function registerServe(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('start the reference chat cluster (gateways, chat servers, presence, HTTP API) in one process')
    .option('--gateways <n>', 'number of WebSocket gateways', parsePositive, 2)
    .option('--chat-servers <n>', 'number of chat servers', parsePositive, 2)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'HTTP API port; gateways listen on the following ports', parsePort, 7000)
    .option('--presence-debounce-ms <ms>', 'offline broadcast debounce window', parsePositive)
    .option('--admin-token <token>', 'token for /v1/admin endpoints', 'chatsim-admin')
    .option('--json', 'print the listening addresses as JSON')
    .action(async (opts: { gateways: number; chatServers: number; host: string; port: number; presenceDebounceMs?: number; adminToken: string; json?: boolean }) => {
      const cluster = new Cluster({
        time: createSystemTime(), gateways: opts.gateways, chatServers: opts.chatServers, host: opts.host, port: opts.port,
        adminToken: opts.adminToken, limits: opts.presenceDebounceMs ? { presenceDebounceMs: opts.presenceDebounceMs } : {},
      });
      let address;
      try {
        address = await cluster.start();
      } catch (error) {
        console.error(`chatsim serve: could not listen: ${(error as Error).message}`);
        setExit(3);
        return;
      }
      if (opts.json) console.log(JSON.stringify(address));
      else {
        console.log(`HTTP API   ${address.httpUrl}`);
        for (const url of address.gatewayUrls) console.log(`gateway    ${url}  (subprotocol chatsim.v1)`);
        console.log(`chat servers: ${opts.chatServers}; restart them with POST ${address.httpUrl}/v1/admin/restart-chat-servers (x-admin-token) or SIGHUP`);
      }
      process.on('SIGHUP', () => void cluster.restartChatServers().then((n) => console.log(`restarted ${n} chat servers`)));
      await new Promise<void>((resolve) => {
        const shutdown = (): void => resolve();
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
      await cluster.stop();
      setExit(0);
    });
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number, got ${value}`);
  return n;
}
