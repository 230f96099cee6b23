import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// The reference cluster hashes passwords with salted SHA-256, not scrypt: a load test logs in
// thousands of phones on two cores, and a deliberately slow hash would measure itself.
// A production deployment would use scrypt or argon2 here.
export function hashPassword(password: string): string {
  const salt = randomBytes(8).toString('hex');
  return `sha256$${salt}$${digest(salt, password)}`;
}

export function checkPassword(password: string, stored: string): boolean {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'sha256' || !salt || !hash) return false;
  const a = Buffer.from(digest(salt, password), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function digest(salt: string, password: string): string {
  return createHash('sha256').update(salt).update('\u0000').update(password).digest('hex');
}
