import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOutputs, parseOutputSpec } from '../../simulator/output/runOutputs.ts';
import type { RunProgress } from '../../simulator/report/RunProgress.ts';
import { sampleSummary } from '../report/fixtures.ts';

let dir = '';
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'chatsim-outputs-')); });
afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

const progress = (elapsedMs: number, sent: number): RunProgress => ({ elapsedMs, phase: 'load', phones: 10, connected: 8, sent, acked: sent, delivered: 2 * sent, errors: 0 });
const rows = [
  { tMs: 0, sent: 3, delivered: 6, errors: 0, connected: 8, reconnects: 0, metrics: { sendToAck: { all: { count: 3, p50: 20, p95: 40, p99: 40, max: 40 }, 'profile:good-4g': { count: 3, p50: 20, p95: 40, p99: 40, max: 40 } } } },
  { tMs: 1000, sent: 0, delivered: 0, errors: 0, connected: null, reconnects: null, metrics: {} },
];

describe('--out specs', () => {
  it('parses json=, csv= and prometheus= and refuses the rest with a message', () => {
    expect(parseOutputSpec('json=a.jsonl')).toEqual({ ok: true, spec: { kind: 'json', file: expect.stringMatching(/\/a\.jsonl$/) } });
    expect(parseOutputSpec('prometheus=:9464')).toEqual({ ok: true, spec: { kind: 'prometheus', host: '127.0.0.1', port: 9464 } });
    expect(parseOutputSpec('prometheus=[::1]:9464')).toEqual({ ok: true, spec: { kind: 'prometheus', host: '::1', port: 9464 } });
    for (const bad of ['influx=x', 'json=', 'prometheus=9464', 'prometheus=:0', 'prometheus=:70000', 'plain']) expect(parseOutputSpec(bad).ok, bad).toBe(false);
  });
});

describe('run outputs', () => {
  it('streams JSON lines while the run goes, then the series and the summary; writes the CSV; serves Prometheus during the run', async () => {
    const jsonFile = join(dir, 'out', 'a.jsonl');
    const csvFile = join(dir, 'out', 'a.csv');
    const outputs = await openOutputs([{ kind: 'json', file: jsonFile }, { kind: 'csv', file: csvFile }, { kind: 'prometheus', host: '127.0.0.1', port: 0 }]);
    outputs.progress(progress(1000, 5));
    outputs.progress(progress(2000, 12));
    const streamed = await waitForLines(jsonFile, 2);
    expect(streamed.map((l) => JSON.parse(l).type)).toEqual(['progress', 'progress']);
    const port = outputs.endpoints()[0]!.port;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^chatsim_runner_messages_sent_total 12$/m);
    expect(text).toMatch(/^chatsim_runner_phones_connected 8$/m);
    expect(text).toMatch(/^chatsim_runner_phase\{phase="load"\} 1$/m);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    await outputs.finish(sampleSummary(), rows);
    const lines = (await readFile(jsonFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(['progress', 'progress', 'point', 'point', 'summary']);
    const csv = (await readFile(csvFile, 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('t_ms,metric,series,count,p50,p95,p99,max');
    expect(csv).toContain('0,sendToAck,profile:good-4g,3,20,40,40,40');
    expect(csv).toContain('1000,connected,all,,,,,');
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

async function waitForLines(file: string, n: number): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    if (lines.length >= n) return lines;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${file} never had ${n} lines`);
}
