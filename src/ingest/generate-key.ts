// Key generation for the CLI (loads node:crypto, so never imported by a trigger).
import { randomBytes } from 'node:crypto';
import { STREAM_KEY_PREFIX } from './stream-key';

/** A new stream key: 192 bits from the OS CSPRNG, URL-safe. */
export function generateStreamKey(): string {
  return STREAM_KEY_PREFIX + randomBytes(24).toString('base64url');
}
