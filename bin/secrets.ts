import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSecret, generateSecret, type ClusterSecrets } from '../server/auth/clusterSecrets.ts';

/** Environment variables that carry a cluster's secrets (docs/security.md). */
export const TOKEN_SECRET_ENV = 'CHATSIM_TOKEN_SECRET';
export const ADMIN_TOKEN_ENV = 'CHATSIM_ADMIN_TOKEN';
/** Name of the file `chatsim serve` writes a generated admin token to, in its state directory. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/** Where the admin token came from: what `serve` prints instead of the token. */
export type SecretSource = { kind: 'file'; path: string } | { kind: 'env'; name: string } | { kind: 'generated' };

export interface ResolvedSecrets {
  secrets: ClusterSecrets;
  adminTokenSource: SecretSource;
  tokenSecretSource: SecretSource;
}

/**
 * One secret: from its file when the option names one, else from its environment variable,
 * else a fresh random one. Files and variables are checked (length, no control characters);
 * a file others may read is used, with a warning.
 */
export async function resolveSecret(
  file: string | undefined, envName: string, env: NodeJS.ProcessEnv, what: string, warn: (line: string) => void,
): Promise<{ ok: true; secret: string; source: SecretSource } | { ok: false; message: string }> {
  if (file !== undefined) {
    let raw: string;
    let othersMayRead: boolean;
    try {
      raw = await readFile(file, 'utf8');
      othersMayRead = ((await stat(file)).mode & 0o077) !== 0;
    } catch (error) {
      return { ok: false, message: `cannot read the ${what} file ${file}: ${(error as Error).message}` };
    }
    const checked = checkSecret(raw, `the ${what} in ${file}`);
    if (!checked.ok) return checked;
    // Warned only for a secret that is used: a refused one gets its one line of error.
    if (othersMayRead) warn(`${file} can be read by other users of this machine; chmod 600 it`);
    return { ok: true, secret: checked.secret, source: { kind: 'file', path: file } };
  }
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== '') {
    const checked = checkSecret(fromEnv, envName);
    return checked.ok ? { ok: true, secret: checked.secret, source: { kind: 'env', name: envName } } : checked;
  }
  return { ok: true, secret: generateSecret(), source: { kind: 'generated' } };
}

/** Both secrets of `chatsim serve`, each by resolveSecret. */
export async function resolveServeSecrets(
  files: { tokenSecretFile?: string | undefined; adminTokenFile?: string | undefined }, env: NodeJS.ProcessEnv, warn: (line: string) => void,
): Promise<{ ok: true; resolved: ResolvedSecrets } | { ok: false; message: string }> {
  const tokenSecret = await resolveSecret(files.tokenSecretFile, TOKEN_SECRET_ENV, env, 'token secret', warn);
  if (!tokenSecret.ok) return tokenSecret;
  const adminToken = await resolveSecret(files.adminTokenFile, ADMIN_TOKEN_ENV, env, 'admin token', warn);
  if (!adminToken.ok) return adminToken;
  return {
    ok: true,
    resolved: {
      secrets: { tokenSecret: tokenSecret.secret, adminToken: adminToken.secret },
      tokenSecretSource: tokenSecret.source,
      adminTokenSource: adminToken.source,
    },
  };
}

/**
 * Writes a generated admin token where only this user can read it: `<dir>/admin-token`, mode
 * 0600, in `dir` or else a fresh private directory (mode 0700) under the system's temporary
 * directory. Returns the file's path and a function that deletes what was created.
 */
export async function writeAdminTokenFile(token: string, dir: string | undefined): Promise<{ path: string; remove(): Promise<void> }> {
  const made = dir === undefined ? await mkdtemp(join(tmpdir(), 'chatsim-serve-')) : undefined;
  // A state directory that does not exist yet is made, private to the user (the README's example names a new one).
  if (dir !== undefined) await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(made ?? dir!, ADMIN_TOKEN_FILE);
  // 'wx' never follows or overwrites a file someone planted there; mode applies on creation.
  await rm(path, { force: true });
  await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600); // a umask cannot widen it, but make the mode explicit
  return {
    path,
    remove: async () => {
      await rm(made ?? path, { recursive: true, force: true });
    },
  };
}

/** What `serve` prints about a secret: where it is, never what it is. */
export function describeSource(source: SecretSource, writtenTo?: string): string {
  switch (source.kind) {
    case 'file': return `read from ${source.path}`;
    case 'env': return `read from $${source.name}`;
    case 'generated': return writtenTo ? `generated, in ${writtenTo} (mode 0600)` : 'generated (not written anywhere)';
  }
}
