// Which chatsim wrote a report: package.json's version and, from a git checkout, the commit.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildInfo } from '../types/runTypes.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let cached: Omit<BuildInfo, 'finishedAt'> | undefined;

/** The version and commit (read once per process) and the wall-clock time of the call. */
export function buildInfo(): BuildInfo {
  cached ??= readBuild();
  return { ...cached, finishedAt: new Date().toISOString() };
}

function readBuild(): Omit<BuildInfo, 'finishedAt'> {
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch { /* not in a package: leave it unknown */ }
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    return /^[0-9a-f]{7,40}$/.test(commit) ? { version, commit } : { version };
  } catch {
    return { version };
  }
}
