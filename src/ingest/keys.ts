// A broadcaster's stream keys over their life: made (the only moment a key exists in clear; only
// its digest and hint are stored), added, rotated. Each change is one IMMEDIATE transaction.
import { UsageError, UserError } from '../lib/errors';
import { displayNameProblem, externalIdProblem } from '../lib/names';
import { hasWorkingLabel, insertKey, revokeKeyNow, revokeUserKeys, workingKeysNamed, type StreamKey } from '../store/keys';
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

/** A new key beside the user's working ones; a label held by a working key (grace included) is a UserError. */
export function addKey(db: Db, user: { id: number; name: string }, label: string, now: number): { key: string; stored: StreamKey } {
  return db
    .transaction(() => {
      if (hasWorkingLabel(db, user.id, label, now)) {
        throw new UserError(`${user.name} already has a key labelled "${label}" (revoke it or pick another label)`);
      }
      return createKey(db, user.id, label, now);
    })
    .immediate();
}

/**
 * A new key; the user's other keys stop working at now + graceMs. Returns how many were revoked.
 * Labels are unique among a user's working keys, so `key revoke <user> <label>` means one key:
 * while an old key in its grace still holds `label`, the new one gets `label-2` (or -3, ...).
 */
export function rotateKeys(
  db: Db,
  userId: number,
  label: string,
  now: number,
  graceMs: number,
): { key: string; stored: StreamKey; revoked: number } {
  return db
    .transaction(() => {
      const revoked = revokeUserKeys(db, userId, now + graceMs);
      return { revoked, ...createKey(db, userId, freeLabel(db, userId, label, now), now) };
    })
    .immediate();
}

/** `label`, or `label-N` with the smallest N no working key of the user holds. */
function freeLabel(db: Db, userId: number, label: string, now: number): string {
  if (!hasWorkingLabel(db, userId, label, now)) return label;
  for (let n = 2; ; n++) {
    const candidate = `${label.slice(0, 32 - `-${n}`.length)}-${n}`;
    if (!hasWorkingLabel(db, userId, candidate, now)) return candidate;
  }
}

/**
 * Revokes, at once, the one working key (grace included) that `labelOrPrefix` names: its label,
 * or else the prefix `key list` shows. Names that fit several keys (labels from before labels were
 * unique) are refused: revoking more than the operator meant would cut off a broadcaster.
 */
export function revokeKey(db: Db, user: { id: number; name: string }, labelOrPrefix: string, now: number): StreamKey {
  return db
    .transaction(() => {
      const keys = workingKeysNamed(db, user.id, labelOrPrefix, now);
      if (keys.length === 0) {
        throw new UserError(
          `${user.name} has no working key labelled or prefixed "${labelOrPrefix.slice(0, 40)}" (see 'streamctl key list ${user.name}')`,
        );
      }
      if (keys.length > 1) {
        throw new UserError(
          `${keys.length} working keys of ${user.name} are labelled "${labelOrPrefix}": revoke one by its prefix (${keys.map((k) => k.hint).join(', ')})`,
        );
      }
      return revokeKeyNow(db, keys[0]!.id, now);
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
      // Checked here, not only in the command, so every way of creating a user refuses the same text.
      const problem =
        (u.displayName !== null ? displayNameProblem(u.displayName) : null) ??
        (u.externalId !== null ? externalIdProblem(u.externalId) : null);
      if (problem) throw new UsageError(problem);
      if (findUserByName(db, u.name)) throw new UserError(`a user named "${u.name}" already exists`);
      if (u.externalId !== null && findUserByExternalId(db, u.externalId)) {
        throw new UserError(`external id "${u.externalId}" already belongs to another user`);
      }
      const user = insertUser(db, { name: u.name, displayName: u.displayName, externalId: u.externalId, now });
      return { user, ...createKey(db, user.id, 'default', now) };
    })
    .immediate();
}
