// The HS256 secret sites sign playback tokens with: made here, shown once by the CLI.
import { randomBytes } from 'node:crypto';
import type { Db } from '../store/open';
import { insertTokenKey, retireSecrets } from '../store/token-keys';

/**
 * A new secret; the current ones keep verifying until now + graceMs. One IMMEDIATE transaction.
 * Returns the stored id, the secret (32 random bytes as base64url text: sites use the text itself
 * as the HMAC key) and how many secrets were retired.
 */
export function rotateTokenSecret(db: Db, now: number, graceMs: number): { id: number; secret: string; retired: number } {
  const secret = randomBytes(32).toString('base64url');
  return db
    .transaction(() => {
      const retired = retireSecrets(db, now + graceMs);
      return { retired, secret, id: insertTokenKey(db, { kind: 'secret', alg: 'HS256', material: secret, label: `secret-${now}`, now }) };
    })
    .immediate();
}
