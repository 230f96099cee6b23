// Traces what an idle connection holds on the cluster's side: the memory benchmark's cluster
// (1 gateway, 2 chat servers, in-memory backends) in this process, N idle connections from a
// load process (bench/load/loadClient.ts, as the benchmark does), a heap snapshot before and
// after, and the difference per connection by node type and constructor name.
// Run: node --expose-gc --import tsx bench/idleHeap.ts [connections=2000] [top=40]
// Snapshots land in .bench-cache/heap/ (before.heapsnapshot, after.heapsnapshot).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import v8 from 'node:v8';
import { Cluster } from '../server/Cluster.ts';
import { MemoryBroker } from '../server/memory/MemoryBroker.ts';
import { createSystemTime } from '../server/runtime/systemTime.ts';
import { killAllChildren, REPO_DIR, startChild } from './lib/child.ts';
import { collectGarbage } from './lib/child.ts';
import { sleep } from './lib/util.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per `<type> <name>` (names of strings and numbers folded into their type). */
export function summariseSnapshot(s: Snapshot): Map<string, { count: number; bytes: number }> {
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]!]!;
    const folded = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'bigint' || type === 'code' || type === 'hidden';
    const name = folded ? '' : s.strings[s.nodes[i + nameAt]!]!.slice(0, 80);
    const key = `${type} ${name}`.trim();
    const entry = out.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += s.nodes[i + sizeAt]!;
    out.set(key, entry);
  }
  return out;
}

async function heapState(file: string): Promise<{ heap: number; file: string }> {
  await sleep(1000);
  const { memory } = collectGarbage();
  await sleep(500);
  const path = v8.writeHeapSnapshot(file);
  return { heap: memory.heapUsed + memory.external + memory.arrayBuffers, file: path };
}

async function main(): Promise<void> {
  const connections = Number(process.argv[2] ?? 2000);
  const top = Number(process.argv[3] ?? 40);
  if (!collectGarbage().collected) throw new Error('run with node --expose-gc --import tsx bench/idleHeap.ts');
  const dir = join(REPO_DIR, '.bench-cache', 'heap');
  await mkdir(dir, { recursive: true });
  const time = createSystemTime();
  const cluster = new Cluster({ time, gateways: 1, chatServers: 2, limits: {}, backends: { broker: new MemoryBroker() }, port: 0, tokenSecret: 'idle-heap-probe-secret-0123456789abcdef', adminToken: 'idle-heap-probe-admin-0123456789abcdef' });
  const address = await cluster.start();
  const tokens: string[] = [];
  for (let i = 0; i < connections; i++) {
    await cluster.backends.directory.createUser({ id: `idle${i}`, name: `idle${i}`, passwordHash: 'bench:not-a-login' });
    tokens.push(cluster.tokens.issue(`idle${i}`, 'd1').token);
  }
  const load = await startChild('load/loadClient.ts');
  try {
    const before = await heapState(join(dir, 'before.heapsnapshot'));
    const c = await load.request<{ connected: number; failed: number }>('connect', { name: 'idle', urls: address.gatewayUrls, tokens, count: connections, hello: true, concurrency: 100, timeoutMs: 30_000 }, 300_000);
    if (c.connected !== connections) throw new Error(`${c.connected} of ${connections} connected (${c.failed} failed)`);
    await load.request('keepAlive');
    const after = await heapState(join(dir, 'after.heapsnapshot'));
    const open = await load.request<number>('openCount', { name: 'idle' });
    if (open !== connections) throw new Error(`only ${open} of ${connections} still open`);
    await load.stop();
    await cluster.stop();
    const [a, b] = [summariseSnapshot(JSON.parse(await readFile(before.file, 'utf8')) as Snapshot), summariseSnapshot(JSON.parse(await readFile(after.file, 'utf8')) as Snapshot)];
    const rows: Array<{ key: string; count: number; bytes: number }> = [];
    let total = 0;
    for (const key of new Set([...a.keys(), ...b.keys()])) {
      const count = (b.get(key)?.count ?? 0) - (a.get(key)?.count ?? 0);
      const bytes = (b.get(key)?.bytes ?? 0) - (a.get(key)?.bytes ?? 0);
      total += bytes;
      rows.push({ key, count, bytes });
    }
    rows.sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes));
    console.log(`${connections} idle connections: heap + external ${((after.heap - before.heap) / connections / 1024).toFixed(2)} KiB per connection (process.memoryUsage); snapshot self sizes ${(total / connections / 1024).toFixed(2)} KiB`);
    console.log('bytes/conn  objects/conn  type name');
    for (const r of rows.slice(0, top)) console.log(`${(r.bytes / connections).toFixed(1).padStart(10)}  ${(r.count / connections).toFixed(2).padStart(12)}  ${r.key}`);
  } finally {
    killAllChildren();
  }
}

await main();
process.exit(0);
