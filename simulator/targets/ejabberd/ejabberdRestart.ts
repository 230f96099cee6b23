import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TargetFaultHooks } from '../../faults/faultKinds.ts';

/** scripts/ejabberd.sh of this checkout. */
const SCRIPT = fileURLToPath(new URL('../../../scripts/ejabberd.sh', import.meta.url));
/** The script's stop waits up to 60 s for the node to exit and its start up to EJABBERD_START_TIMEOUT (90 s): more than both. */
const RESTART_TIMEOUT_MS = 240_000;

export interface EjabberdRestartOptions {
  /** The target's HTTP API and XMPP service: their ports name the node the script controls. */
  httpUrl: string;
  xmppUrl: string;
  /** The script's environment (EJABBERD_DIR, EJABBERD_NODE, EJABBERD_DIST_PORT...); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Default scripts/ejabberd.sh of this checkout. */
  script?: string;
}

/**
 * ejabberd's server faults (TargetFaultHooks): `restart` runs `scripts/ejabberd.sh restart
 * <down seconds>`, which stops the node (every session and its XEP-0198 resumption state is
 * lost; users, rosters and archives are in Mnesia on disk and stay), waits, starts it again and
 * returns once the XMPP port and the HTTP API answer. The script controls only a node it
 * started from its scratch root (EJABBERD_DIR); the ports come from the target's URLs, so a
 * run against a node the script cannot restart fails the fault (listed in the summary) rather
 * than restart something else.
 */
export function ejabberdFaultHooks(options: EjabberdRestartOptions): TargetFaultHooks {
  const base = options.env ?? process.env;
  const env: NodeJS.ProcessEnv = {
    ...base,
    EJABBERD_HTTP_PORT: portOf(options.httpUrl, '25280'),
    // An XMPP-over-WebSocket URL is served on the HTTP port; the c2s port is then the node's own.
    EJABBERD_C2S_PORT: options.xmppUrl.startsWith('xmpp://') ? portOf(options.xmppUrl, '25222') : base.EJABBERD_C2S_PORT ?? '25222',
    EJABBERD_FRESH: '0', // a restart keeps the spool: users, rosters, archives
  };
  return {
    name: 'ejabberd',
    restart: (downMs) => new Promise<void>((resolve, reject) => {
      const downSeconds = (Math.max(0, downMs) / 1000).toFixed(3);
      execFile('bash', [options.script ?? SCRIPT, 'restart', downSeconds], { env, timeout: RESTART_TIMEOUT_MS }, (error, stdout, stderr) => {
        if (!error) return resolve();
        const said = `${stdout}${stderr}`.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`scripts/ejabberd.sh restart failed (${error.message.split('\n')[0]}): ${said}`));
      });
    }),
  };
}

function portOf(url: string, fallback: string): string {
  try {
    return new URL(url).port || fallback;
  } catch {
    return fallback;
  }
}
