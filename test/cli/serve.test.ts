import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;

describe('the chatsim command', () => {
  it('prints help for the program and for serve, exit 0', async () => {
    for (const args of [['--help'], ['serve', '--help']]) {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(out).toContain('Usage: chatsim');
    }
  });

  it('exits 64 on bad usage', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--gateways', 'many'], { stdio: 'ignore' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(64);
  });

  it('serve starts a cluster that answers health and a login, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const deadline = Date.now() + 20_000;
    while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const address = JSON.parse(out.split('\n')[0]!) as { httpUrl: string; gatewayUrls: string[] };
    expect(address.gatewayUrls).toHaveLength(2);
    const health = await fetch(`${address.httpUrl}/v1/health`);
    expect(health.status).toBe(200);
    const reg = await fetch(`${address.httpUrl}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cli', password: 'pw' }) });
    expect(reg.status).toBe(201);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});

/** Starts `chatsim serve --json` and resolves with its first stdout line (the addresses) and the child. */
async function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ReturnType<typeof spawn>; address: { httpUrl: string; gatewayUrls: string[]; adminTokenFile?: string }; output: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const deadline = Date.now() + 20_000;
  while (!out.includes('"httpUrl"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const line = out.split('\n').find((l) => l.includes('"httpUrl"'));
  if (line === undefined) {
    // Never leave a serve behind when it did not come up in time.
    child.kill('SIGKILL');
    throw new Error(`serve printed no addresses within 20 s: ${out}`);
  }
  return { child, address: JSON.parse(line), output: () => out };
}

async function stopServe(child: ReturnType<typeof spawn>): Promise<void> {
  child.kill('SIGTERM');
  await once(child, 'exit');
}

describe('chatsim serve secrets (issue 15, finding 3)', () => {
  it('a fresh serve accepts neither the old default admin token nor a token signed with the old default secret', async () => {
    const { TokenService } = await import('../../server/auth/TokenService.ts');
    const targetsFile = join(mkdtempSync(join(tmpdir(), 'chatsim-targets-')), 'targets.json');
    const { child, address, output } = await startServe(['--json', '--metrics-targets-file', targetsFile]);
    try {
      const admin = await fetch(`${address.httpUrl}/v1/admin/restart-chat-servers`, { method: 'POST', headers: { 'x-admin-token': 'chatsim-admin' } });
      expect(admin.status).toBe(403);
      // The victim exists, so a refusal below is the forged signature's, not an unknown user's.
      const registered = await fetch(`${address.httpUrl}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'victim', password: 'pw-victim' }) });
      expect(registered.status).toBe(201);
      const forged = new TokenService('chatsim-dev-secret', { nowMs: () => Date.now() }, 60_000).issue('victim', 'd1').token;
      expect((await fetch(`${address.httpUrl}/v1/me`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
      const ws = await import('ws');
      const status = await new Promise<number>((resolve) => {
        const socket = new ws.default(address.gatewayUrls[0]!, 'chatsim.v1', { headers: { authorization: `Bearer ${forged}` } });
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => { resolve(101); socket.terminate(); });
        socket.on('error', () => undefined);
      });
      expect(status).toBe(401);
      // The generated admin token is in a file only its owner can read, and it works.
      const file = address.adminTokenFile!;
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      const ok = await fetch(`${address.httpUrl}/v1/admin/restart-chat-servers`, { method: 'POST', headers: { 'x-admin-token': token } });
      expect(ok.status).toBe(200);
      // Its metrics: listed for Prometheus (--json's metricsTargets), served for that token only.
      const host = new URL(address.httpUrl).host;
      expect((address as { metricsTargets?: unknown }).metricsTargets).toEqual([{ targets: [host], labels: { chatsim_node: 'cluster', chatsim_role: 'cluster' } }]);
      expect(JSON.parse(readFileSync(targetsFile, 'utf8'))).toEqual((address as { metricsTargets?: unknown }).metricsTargets);
      expect((await fetch(`${address.httpUrl}/metrics`)).status).toBe(403);
      const metrics = await fetch(`${address.httpUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^chatsim_gateway_connections\{gateway="gw1"\} 0$/m);
      expect(output()).not.toContain(token);
    } finally {
      await stopServe(child);
    }
    // The file goes with the cluster, and so does the target list.
    expect(existsSync(address.adminTokenFile!)).toBe(false);
    expect(existsSync(targetsFile)).toBe(false);
  });

  it('prints where the admin token is, never the token or the secret', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const output = (): string => out;
    try {
      const deadline = Date.now() + 10_000;
      while (!output().includes('token secret') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const where = /admin token\s+generated, in (\S+)/.exec(output());
      expect(where).not.toBeNull();
      const token = readFileSync(where![1]!, 'utf8').trim();
      expect(output()).not.toContain(token);
      expect(output()).toMatch(/token secret\s+generated \(not written anywhere\)/);
    } finally {
      await stopServe(child);
    }
  });

  it('takes the secrets from --token-secret-file / --admin-token-file or from the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatsim-secrets-'));
    const secretFile = join(dir, 'token-secret');
    const adminFile = join(dir, 'admin-token');
    writeFileSync(secretFile, 'a-token-secret-for-this-test-only\n', { mode: 0o600 });
    writeFileSync(adminFile, 'an-admin-token-for-this-test\n', { mode: 0o600 });
    const { TokenService } = await import('../../server/auth/TokenService.ts');
    for (const [args, env] of [
      [['--json', '--token-secret-file', secretFile, '--admin-token-file', adminFile], {}],
      [['--json'], { CHATSIM_TOKEN_SECRET: 'a-token-secret-for-this-test-only', CHATSIM_ADMIN_TOKEN: 'an-admin-token-for-this-test' }],
    ] as const) {
      const { child, address } = await startServe([...args], env);
      try {
        const admin = await fetch(`${address.httpUrl}/v1/admin/restart-chat-servers`, { method: 'POST', headers: { 'x-admin-token': 'an-admin-token-for-this-test' } });
        expect(admin.status).toBe(200);
        const registered = await fetch(`${address.httpUrl}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'u1', password: 'pw' }) });
        expect(registered.status, 'the user the token names is registered').toBe(201);
        const signed = new TokenService('a-token-secret-for-this-test-only', { nowMs: () => Date.now() }, 60_000).issue('u1', 'd1').token;
        expect((await fetch(`${address.httpUrl}/v1/me`, { headers: { authorization: `Bearer ${signed}` } })).status).toBe(200);
      } finally {
        await stopServe(child);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a secret too short to be safe (exit 64)', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { stdio: 'ignore', env: { ...process.env, CHATSIM_ADMIN_TOKEN: 'short' } });
    const [code] = await once(child, 'exit');
    expect(code).toBe(64);
  });
});
