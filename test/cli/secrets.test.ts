import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeAdminTokenFile } from '../../bin/secrets.ts';

const dirs: string[] = [];
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

describe('serve --state-dir', () => {
  it('makes a state directory that does not exist yet (private) and writes the admin token there with mode 0600', async () => {
    const base = await mkdtemp(join(tmpdir(), 'chatsim-state-'));
    dirs.push(base);
    const dir = join(base, 'new', '.serve');
    const file = await writeAdminTokenFile('a-test-token-of-enough-length', dir);
    expect(file.path).toBe(join(dir, 'admin-token'));
    expect((await readFile(file.path, 'utf8')).trim()).toBe('a-test-token-of-enough-length');
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await file.remove();
  });
});
