import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;
const flakyMobile = new URL('../../scenarios/flaky-mobile.yaml', import.meta.url).pathname;
/** flaky-mobile as shipped but for one edit, shortened to seconds (the full run is in shippedScenarios.test.ts). */
function flakyMobileWith(dir: string, name: string, edit: (yaml: string) => string): string {
  const yaml = readFileSync(flakyMobile, 'utf8').replace('durationMs: 60s', 'durationMs: 5s').replace('healMs: 40s', 'healMs: 15s');
  const path = join(dir, name);
  writeFileSync(path, edit(yaml));
  return path;
}

async function chatsim(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  return { code: code as number, stdout, stderr };
}

describe('chatsim run', () => {
  it('runs a small scenario end to end, exits 0 and writes every report file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'chatsim-run-'));
    const { code, stdout, stderr } = await chatsim(['run', tiny, '--out', out]);
    expect(code, stderr).toBe(0);
    for (const f of ['summary.json', 'junit.xml', 'report.html', 'history.jsonl.gz']) expect(existsSync(join(out, f)), f).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ verdict: 'pass', exitCode: 0, seed: 7, engine: 'live' });
    expect(summary.metrics.phones).toBeGreaterThanOrEqual(25);
    expect(summary.metrics.messagesAcked).toBeGreaterThan(0);
    expect(summary.properties.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(['A4', 'A5', 'B1', 'F1']));
    const history = gunzipSync(readFileSync(join(out, 'history.jsonl.gz'))).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.some((e) => e.type === 'render')).toBe(true);
    expect(stdout).toContain('pass');

    // `chatsim check` re-checks the saved run with the same verdict...
    const rechecked = await chatsim(['check', out, '--json']);
    expect(rechecked.code, rechecked.stderr).toBe(0);
    expect(JSON.parse(rechecked.stdout).properties.map((p: { id: string; verdict: string }) => [p.id, p.verdict]))
      .toEqual(summary.properties.map((p: { id: string; verdict: string }) => [p.id, p.verdict]));
    // ...and fails, naming the device, when a delivery is cut out of the history.
    const lost = history.find((e) => e.type === 'render');
    const tampered = history.filter((e) => e !== lost).map((e) => JSON.stringify(e)).join('\n') + '\n';
    writeFileSync(join(out, 'history.jsonl.gz'), gzipSync(tampered));
    const broken = await chatsim(['check', out]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`never rendered on ${lost.p}`);
    expect((await chatsim(['check', join(out, 'nope')])).code).toBe(64);
  });

  it('exits 2 when a threshold of flaky-mobile cannot be met, and 64 naming the field for an invalid scenario', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatsim-bad-'));
    const impossible = flakyMobileWith(dir, 'impossible.yaml', (yaml) => {
      const changed = yaml.replace('"sendToAck{connected:true} p(95) < 5s"', '"sendToAck{connected:true} p(95) < 0ms"');
      expect(changed, 'flaky-mobile.yaml has the threshold this test makes impossible').not.toBe(yaml);
      return changed;
    });
    const failed = await chatsim(['run', impossible, '--phones', '150', '--dir', join(dir, 'out'), '--json']);
    expect(failed.code, failed.stderr).toBe(2);
    const summary = JSON.parse(failed.stdout);
    expect(summary).toMatchObject({ verdict: 'fail', exitCode: 2 });
    expect(summary.thresholds[0]).toMatchObject({ expression: 'sendToAck{connected:true} p(95) < 0ms', ok: false });
    expect(summary.properties.filter((p: { verdict: string }) => p.verdict === 'fail')).toEqual([]);

    const invalid = flakyMobileWith(dir, 'invalid.yaml', (yaml) => yaml.replace('friendsPerUser: 5', 'friendsPerUser: many'));
    const rejected = await chatsim(['run', invalid]);
    expect(rejected.code).toBe(64);
    expect(rejected.stderr).toContain('population.friendsPerUser');
    expect(rejected.stderr).toContain('must be number');
  }, 120_000);

  it('exits 1 with an injected bug, and summary.json marks the property it breaks', async () => {
    // Every bug on its own scenario: test/bugs/bugScenarios.test.ts (under CI). This one is quick.
    const out = mkdtempSync(join(tmpdir(), 'chatsim-bug-'));
    const { code, stdout, stderr } = await chatsim(['run', tiny, '--out', out, '--json', '--inject-bug', 'route-to-every-gateway']);
    expect(code, stderr).toBe(1);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ verdict: 'fail', exitCode: 1 });
    expect(summary.reproduce).toContain('--inject-bug route-to-every-gateway');
    const a10 = summary.properties.find((p: { id: string }) => p.id === 'A10');
    expect(a10.verdict).toBe('fail');
    expect(a10.examples[0]).toMatch(/device u\d+\/d\d \(user u\d+, not a member of .+\) saw message seq \d+ from u\d+/);
  });

  it('exits 3 with a clear message when --target is unreachable', async () => {
    const out = mkdtempSync(join(tmpdir(), 'chatsim-unreach-'));
    const { code, stderr } = await chatsim(['run', flakyMobile, '--target', 'http://127.0.0.1:9', '--out', out]);
    expect(code).toBe(3);
    expect(stderr).toContain('TARGET_UNREACHABLE');
    expect(stderr).toContain('127.0.0.1:9');
  });

  it('--port starts the cluster on the chosen base port (API on it, gateways after it) and the run passes', async () => {
    const base = await freePortRange(3); // tiny: the API and two gateways
    const out = mkdtempSync(join(tmpdir(), 'chatsim-port-'));
    const { code, stderr } = await chatsim(['run', tiny, '--port', String(base), '--dir', out]);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`cluster: API http://127.0.0.1:${base}, gateways ws://127.0.0.1:${base + 1}`);
  });

  it('--port refuses a bad value with exit 64 and one clear line', async () => {
    for (const bad of ['0', '65536', 'abc', '80.5']) {
      const { code, stderr } = await chatsim(['run', tiny, '--port', bad]);
      expect(code, bad).toBe(64);
      expect(stderr, bad).toContain(`expected a port number from 1 to 65535, got ${bad}`);
    }
    const high = await chatsim(['run', tiny, '--port', '65535']);
    expect(high.code).toBe(64);
    expect(high.stderr).toContain('--port 65535: the API on 65535 and 2 gateway(s) after it need ports up to 65537, past 65535');
    const sim = await chatsim(['run', tiny, '--port', '7000', '--engine', 'sim']);
    expect(sim.code).toBe(64);
    expect(sim.stderr).toContain('the simulation engine opens no ports');
  });
});

/** A base port with `count` free ports from it (taken and released at once: another process could take one meanwhile, unlikely on loopback). */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const servers: Server[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const server = createServer();
        await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(base + i, '127.0.0.1', resolve); });
        servers.push(server);
      }
      return base;
    } catch {
      // taken: try another
    } finally {
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
    }
  }
  throw new Error('no free port range found');
}
