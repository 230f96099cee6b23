// The profile-guided pass: runs the throughput benchmark's cluster side with the server under
// `node --cpu-prof`, then prints the functions with the most self time (ours and node's).
// Run: npx tsx bench/profileCluster.ts [pairs] [seconds]   (profiles land in .bench-cache/prof/)
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { REPO_DIR, killAllChildren } from './lib/child.ts';
import { runSideBySide } from './throughput.ts';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Self time per function (name, file, line), in ms, largest first; and per file. */
export function summariseProfile(profile: CpuProfile): { total: number; functions: Array<{ name: string; where: string; ms: number }>; files: Array<{ file: string; ms: number }> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const functions = new Map<string, { name: string; where: string; ms: number }>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const file = frame.url.startsWith('file://') ? relative(REPO_DIR, new URL(frame.url).pathname) : frame.url || '(native)';
    const where = `${file}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName}|${where}`;
    const entry = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, ms: 0 };
    entry.ms += us / 1000;
    functions.set(key, entry);
    files.set(file, (files.get(file) ?? 0) + us / 1000);
    total += us / 1000;
  }
  return {
    total,
    functions: [...functions.values()].sort((a, b) => b.ms - a.ms),
    files: [...files].map(([file, ms]) => ({ file, ms })).sort((a, b) => b.ms - a.ms),
  };
}

if (process.argv[1]?.endsWith('profileCluster.ts')) {
  const pairs = Number(process.argv[2] ?? 200);
  const seconds = Number(process.argv[3] ?? 10);
  const dir = join(REPO_DIR, '.bench-cache', 'prof');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const { cluster } = await runSideBySide({ profile: 'full', log: (l) => console.error(l) }, { pairs, seconds, warmupSeconds: 2, rounds: 1 }, { clusterNodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir], echo: false });
    const w = cluster[0]!;
    console.log(`cluster under the profiler: ${Math.round(w.frames / w.seconds)} frames/s, ${Math.round(w.frames / w.serverCpuSeconds)} frames per CPU-s`);
  } finally {
    killAllChildren();
  }
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const s = summariseProfile(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile);
  const pct = (ms: number): string => `${((100 * ms) / s.total).toFixed(1).padStart(5)} %`;
  console.log(`\nself time, top functions (of ${Math.round(s.total)} ms sampled):`);
  for (const f of s.functions.slice(0, 30)) console.log(`${pct(f.ms)}  ${f.name}  ${f.where}`);
  console.log('\nself time by file:');
  for (const f of s.files.slice(0, 20)) console.log(`${pct(f.ms)}  ${f.file}`);
}
