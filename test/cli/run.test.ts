import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/chatsim.js', import.meta.url).pathname;
const tiny = new URL('../fixtures/tiny.yaml', import.meta.url).pathname;

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
  });

  it('exits 2 when a threshold cannot be met, and 64 naming the field for an invalid scenario', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatsim-bad-'));
    const impossible = join(dir, 'impossible.yaml');
    writeFileSync(impossible, readFileSync(tiny, 'utf8').replace('"sendToAck p(99) < 10s"', '"sendToAck p(99) < 0ms"'));
    const failed = await chatsim(['run', impossible, '--out', join(dir, 'out'), '--json']);
    expect(failed.code, failed.stderr).toBe(2);
    expect(JSON.parse(failed.stdout).thresholds[0]).toMatchObject({ ok: false });

    const invalid = join(dir, 'invalid.yaml');
    writeFileSync(invalid, readFileSync(tiny, 'utf8').replace('friendsPerUser: 3', 'friendsPerUser: many'));
    const rejected = await chatsim(['run', invalid]);
    expect(rejected.code).toBe(64);
    expect(rejected.stderr).toContain('population.friendsPerUser');
  });

  it('exits 3 with a clear message when --target is unreachable', async () => {
    const out = mkdtempSync(join(tmpdir(), 'chatsim-unreach-'));
    const { code, stderr } = await chatsim(['run', tiny, '--target', 'http://127.0.0.1:9', '--out', out]);
    expect(code).toBe(3);
    expect(stderr).toContain('TARGET_UNREACHABLE');
    expect(stderr).toContain('127.0.0.1:9');
  });
});
