// Test files run in parallel forks. The long live-run suites (the shipped scenarios, the bug
// catalogue) each load the machine on purpose, so they take turns: a lock file created with
// O_EXCL, holding the owner's pid so a lock left by a killed run is taken over.
import { openSync, closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK_PATH = join(tmpdir(), 'chatsim-heavy-run.lock');
const POLL_MS = 500;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tryTake(): boolean {
  try {
    const fd = openSync(LOCK_PATH, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch {
    let owner: number;
    try {
      owner = Number(readFileSync(LOCK_PATH, 'utf8'));
    } catch {
      return false; // released between our open and read: try again next poll
    }
    if (Number.isInteger(owner) && owner !== process.pid && !alive(owner)) {
      try { unlinkSync(LOCK_PATH); } catch { /* someone else took it over first */ }
    }
    return false;
  }
}

/** Runs `work` while holding the machine-wide heavy-run lock. */
export async function withHeavyRunLock<T>(work: () => Promise<T>): Promise<T> {
  while (!tryTake()) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  try {
    return await work();
  } finally {
    try { unlinkSync(LOCK_PATH); } catch { /* already gone */ }
  }
}
