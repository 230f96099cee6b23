// Ctrl-C during a multi-process `chatsim run`: the cluster's processes stop and its keyspace and
// Redis are released (bin/interrupt.ts, simulator/engine/interruptCleanups.ts), exit 130.
// Needs the Cassandra node at CHATSIM_CASSANDRA or 127.0.0.1:9042; skipped without one, and a
// failure under CI (which starts it).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCassandraClient, DEFAULT_CASSANDRA } from '../../server/cassandra/client.ts';
import { cassandraUnreachable } from '../contracts/helpers.ts';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const scenario = new URL('../../scenarios/chat-server-kill.yaml', import.meta.url).pathname;
const contactPoint = process.env.CHATSIM_CASSANDRA ?? DEFAULT_CASSANDRA;
const unreachable = await cassandraUnreachable(contactPoint);

/** Whether something accepts TCP connections on host:port. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

describe.skipIf(unreachable !== undefined && process.env.CI !== 'true')('chatsim run interrupted', () => {
  it('SIGINT stops the multi-process cluster, drops its keyspace, stops its Redis, and exits 130', async () => {
    if (unreachable) throw new Error(`CI must provide Cassandra at ${contactPoint}: ${unreachable}`);
    const out = mkdtempSync(join(tmpdir(), 'chatsim-interrupt-'));
    const child = spawn(process.execPath, [bin, 'run', scenario, '--phones', '20', '--cassandra', contactPoint, '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' },
    });
    let stderr = '';
    child.stdout.resume();
    const up = new Promise<RegExpExecArray>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        // "cluster up: ... Redis redis://127.0.0.1:PORT prefix P, Cassandra H keyspace K", then the load starts.
        const match = /Redis redis:\/\/([\d.]+):(\d+) prefix \S+, Cassandra \S+ keyspace (\w+)[\s\S]*\bload\b/.exec(stderr);
        if (match) resolve(match);
      });
      child.once('exit', () => reject(new Error(`exited before the load started: ${stderr.slice(-1500)}`)));
    });
    const [, redisHost, redisPort, keyspace] = await up;
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code, stderr.slice(-1500)).toBe(130);
    expect(stderr).toContain('SIGINT: stopping the cluster');
    const client = createCassandraClient(contactPoint);
    try {
      await client.connect();
      const rows = await client.execute('SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?', [keyspace], { prepare: true });
      expect(rows.rowLength, `keyspace ${keyspace} left behind`).toBe(0);
    } finally {
      await client.shutdown();
    }
    expect(await listening(redisHost!, Number(redisPort)), 'the run\'s local Redis still listens').toBe(false);
  }, 180_000);
});
