// Making a stream key: the only moment it exists in clear; only its digest and hint are stored.
import { insertKey, type StreamKey } from '../store/keys';
import type { Db } from '../store/open';
import { generateStreamKey } from './generate-key';
import { streamKeyDigest, streamKeyHint } from './stream-key';

/** Generates a key, stores its digest, returns the key (the only time it exists in clear). */
export function createKey(db: Db, userId: number, label: string, now: number): { key: string; stored: StreamKey } {
  const key = generateStreamKey();
  const stored = insertKey(db, { userId, label, digest: streamKeyDigest(key), hint: streamKeyHint(key), now });
  return { key, stored };
}
