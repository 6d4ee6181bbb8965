// Standard Webhooks signatures (https://www.standardwebhooks.com, spec "Signature scheme"):
// the secret is `whsec_` + base64 of the key's bytes; each attempt is signed with HMAC-SHA256 of
// `<webhook-id>.<webhook-timestamp>.<body>` under those bytes, sent as `v1,<base64>`.
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

/** Bytes of a new signing key: 256 bits, HMAC-SHA256's own block of strength. */
const KEY_BYTES = 32;

/** A new signing key: `secret` is what the site is shown once, `key` what is stored (base64). */
export function newSigningSecret(): { secret: string; key: string } {
  const key = randomBytes(KEY_BYTES).toString('base64');
  return { secret: SECRET_PREFIX + key, key };
}

/** The webhook-signature header's value for one attempt. */
export function signatureHeader(key: string, id: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', Buffer.from(key, 'base64')).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The headers of one attempt at `nowMs` (webhook-timestamp is unix seconds, per the spec). */
export function signedHeaders(key: string, id: string, nowMs: number, body: string): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(key, id, timestamp, body),
  };
}
