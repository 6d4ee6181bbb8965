// Stream key format and digest. The hot path (ingest triggers) needs only the digest and the
// shape check; generation uses node:crypto and lives in the CLI (see generateStreamKey).
import { hash as sha256 } from 'fast-sha256';

/** Recognisable prefix so leaked keys can be found by secret scanners and by eye. */
export const STREAM_KEY_PREFIX = 'stc_';
/** 24 random bytes = 192 bits, base64url = 32 characters. */
const STREAM_KEY_PATTERN = /^stc_[A-Za-z0-9_-]{32}$/;
/** How much of a key is kept and shown as a hint (4 random characters, 24 bits). */
const HINT_LENGTH = STREAM_KEY_PREFIX.length + 4;

/** True when text has the exact shape of a stream key (cheap check before any lookup). */
export function looksLikeStreamKey(text: string): boolean {
  return STREAM_KEY_PATTERN.test(text);
}

/**
 * The stored form of a key: lower-case hex SHA-256. Pure JS, because loading node:crypto costs
 * 5-10 ms of start-up on every push; fast-sha256 is SHA-256 alone (about 6 KB bundled), where
 * @noble/hashes' sha2 module also builds the SHA-512 tables at load (about 2 ms measured).
 */
export function streamKeyDigest(key: string): string {
  return Buffer.from(sha256(new TextEncoder().encode(key))).toString('hex');
}

/** The non-secret hint shown in `key list`. */
export function streamKeyHint(key: string): string {
  return key.slice(0, HINT_LENGTH);
}
