// A broadcaster's stream keys over their life: made (the only moment a key exists in clear; only
// its digest and hint are stored), added, rotated. Each change is one IMMEDIATE transaction.
import { UserError } from '../lib/errors';
import { hasCurrentLabel, insertKey, revokeUserKeys, type StreamKey } from '../store/keys';
import type { Db } from '../store/open';
import { findUserByExternalId, findUserByName, insertUser, type User } from '../store/users';
import { generateStreamKey } from './generate-key';
import { streamKeyDigest, streamKeyHint } from './stream-key';

/** Generates a key, stores its digest, returns the key (the only time it exists in clear). */
export function createKey(db: Db, userId: number, label: string, now: number): { key: string; stored: StreamKey } {
  const key = generateStreamKey();
  const stored = insertKey(db, { userId, label, digest: streamKeyDigest(key), hint: streamKeyHint(key), now });
  return { key, stored };
}

/** A new key beside the user's working ones; a label already in use is a UserError. */
export function addKey(db: Db, user: { id: number; name: string }, label: string, now: number): { key: string; stored: StreamKey } {
  return db
    .transaction(() => {
      if (hasCurrentLabel(db, user.id, label)) {
        throw new UserError(`${user.name} already has a key labelled "${label}" (revoke it or pick another label)`);
      }
      return createKey(db, user.id, label, now);
    })
    .immediate();
}

/** A new key; the user's other keys stop working at now + graceMs. Returns how many were revoked. */
export function rotateKeys(db: Db, userId: number, label: string, now: number, graceMs: number): { key: string; stored: StreamKey; revoked: number } {
  return db
    .transaction(() => {
      const revoked = revokeUserKeys(db, userId, now + graceMs);
      return { revoked, ...createKey(db, userId, label, now) };
    })
    .immediate();
}

/** A new broadcaster with its first key ("default"); a taken name or external id is a UserError. */
export function createUserWithKey(
  db: Db,
  u: { name: string; displayName: string | null; externalId: string | null },
  now: number,
): { user: User; key: string; stored: StreamKey } {
  return db
    .transaction(() => {
      if (findUserByName(db, u.name)) throw new UserError(`a user named "${u.name}" already exists`);
      if (u.externalId !== null && findUserByExternalId(db, u.externalId)) {
        throw new UserError(`external id "${u.externalId}" already belongs to another user`);
      }
      const user = insertUser(db, { name: u.name, displayName: u.displayName, externalId: u.externalId, now });
      return { user, ...createKey(db, user.id, 'default', now) };
    })
    .immediate();
}
