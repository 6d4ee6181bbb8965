// Channel passwords: scrypt with a random salt, self-describing so parameters can grow later.
// CLI only (node:crypto): the trigger never sees passwords, the site checks them and mints a token.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const N = 1 << 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
/** scrypt needs 128·N·r bytes; allow twice that. */
const MAX_MEM = 256 * N * R;

/** `scrypt$N$r$p$<salt b64>$<hash b64>` for a password. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, KEY_BYTES, { N, r: R, p: P, maxmem: MAX_MEM });
  return ['scrypt', N, R, P, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** True when the password matches the stored hash (constant-time compare); false for unknown formats. */
export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const params = { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * Number(n) * Number(r) };
  if (!Number.isSafeInteger(params.N) || expected.length < 16) return false;
  const actual = scryptSync(password.normalize('NFC'), Buffer.from(salt, 'base64'), expected.length, params);
  return timingSafeEqual(actual, expected);
}
