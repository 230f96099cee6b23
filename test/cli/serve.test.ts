import { spawn } from 'node:child_process';
import { once } from 'node:events';
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
