import { randomBytes } from 'node:crypto';

/**
 * The two secrets of a cluster: the HMAC key that signs login tokens and the token of the
 * operator endpoints (/v1/admin). There are no defaults: a cluster given none draws its own
 * at start, so no working secret lives in the code or the docs (docs/security.md).
 */
export interface ClusterSecrets {
  tokenSecret: string;
  adminToken: string;
}

/** Random bytes in a generated secret: 256 bits, as many as the HMAC-SHA256 key can use. */
export const GENERATED_SECRET_BYTES = 32;
/** Shortest secret accepted from a file or the environment, in characters. */
export const SECRET_CHARS_MIN = 16;
/** Longest secret accepted from a file or the environment, in characters. */
export const SECRET_CHARS_MAX = 4096;

/**
 * A fresh secret from the operating system's CSPRNG. Deliberately not the injected Random
 * port: that one is seeded (reproducible runs), and a secret must not be reproducible.
 */
export function generateSecret(): string {
  return randomBytes(GENERATED_SECRET_BYTES).toString('base64url');
}

/** The given secrets, each drawn fresh where absent. */
export function clusterSecrets(given: { tokenSecret?: string | undefined; adminToken?: string | undefined } = {}): ClusterSecrets {
  return {
    tokenSecret: given.tokenSecret ?? generateSecret(),
    adminToken: given.adminToken ?? generateSecret(),
  };
}

/**
 * Checks a secret read from a file or the environment (surrounding white space, such as the
 * newline an editor leaves, is dropped): an error message, or the secret. Short secrets are
 * refused because they can be guessed offline from one token.
 */
export function checkSecret(raw: string, what: string): { ok: true; secret: string } | { ok: false; message: string } {
  const secret = raw.trim();
  if (secret.length < SECRET_CHARS_MIN) return { ok: false, message: `${what} must be at least ${SECRET_CHARS_MIN} characters` };
  if (secret.length > SECRET_CHARS_MAX) return { ok: false, message: `${what} must be at most ${SECRET_CHARS_MAX} characters` };
  if ([...secret].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return { ok: false, message: `${what} must not contain control characters` };
  return { ok: true, secret };
}
