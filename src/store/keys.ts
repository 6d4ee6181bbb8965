// Stream keys. Only digests are stored; a key works while revoked_at is NULL or in the future.
import type { Db } from './open';
import { stmt } from './statements';

export interface StreamKey {
  id: number;
  userId: number;
  label: string;
  hint: string;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
  lastIp: string | null;
}

/** What a push lookup needs: the key and the state of its user. */
export interface KeyOwner {
  keyId: number;
  label: string;
  revokedAt: number | null;
  userId: number;
  userName: string;
  userDisabled: boolean;
}

interface KeyRow {
  id: number;
  user_id: number;
  label: string;
  prefix: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  last_ip: string | null;
}

function toKey(r: KeyRow): StreamKey {
  return {
    id: r.id,
    userId: r.user_id,
    label: r.label,
    hint: r.prefix,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
    lastIp: r.last_ip,
  };
}

/** True when a key still works at `now` (not revoked, or inside its rotation grace). */
export function keyWorksAt(revokedAt: number | null, now: number): boolean {
  return revokedAt === null || revokedAt > now;
}

/** The key with this digest and its owner, whatever their state (the caller decides and explains). */
export function findKeyOwnerByDigest(db: Db, digest: string): KeyOwner | undefined {
  const r = stmt(
    db,
    `SELECT k.id AS keyId, k.label, k.revoked_at AS revokedAt, u.id AS userId, u.name AS userName, u.disabled AS userDisabled
         FROM stream_keys k JOIN users u ON u.id = k.user_id
        WHERE k.digest = ?`,
  ).get(digest) as (Omit<KeyOwner, 'userDisabled'> & { userDisabled: number }) | undefined;
  return r && { ...r, userDisabled: r.userDisabled === 1 };
}

/** Stores a new key's digest under a label. */
export function insertKey(db: Db, k: { userId: number; label: string; digest: string; hint: string; now: number }): StreamKey {
  const info = stmt(db, 'INSERT INTO stream_keys (user_id, label, prefix, digest, created_at) VALUES (?, ?, ?, ?, ?)').run(
    k.userId,
    k.label,
    k.hint,
    k.digest,
    k.now,
  );
  return toKey(stmt(db, 'SELECT * FROM stream_keys WHERE id = ?').get(info.lastInsertRowid) as KeyRow);
}

/** Keys of a user, newest first; revoked ones (grace over) only when asked. */
export function listKeys(db: Db, userId: number, now: number, includeRevoked: boolean): StreamKey[] {
  const rows = stmt(
    db,
    `SELECT * FROM stream_keys WHERE user_id = ? AND (? OR revoked_at IS NULL OR revoked_at > ?) ORDER BY created_at DESC, id DESC`,
  ).all(userId, includeRevoked ? 1 : 0, now) as KeyRow[];
  return rows.map(toKey);
}

/** True when a key of the user with this label still works at `now` (current or in its rotation grace). */
export function hasWorkingLabel(db: Db, userId: number, label: string, now: number): boolean {
  return (
    stmt(db, 'SELECT 1 FROM stream_keys WHERE user_id = ? AND label = ? AND (revoked_at IS NULL OR revoked_at > ?)').get(
      userId,
      label,
      now,
    ) !== undefined
  );
}

/** The user's keys still working at `now` whose label, or else whose prefix, is `text`. */
export function workingKeysNamed(db: Db, userId: number, text: string, now: number): StreamKey[] {
  const working = 'user_id = ? AND (revoked_at IS NULL OR revoked_at > ?)';
  const byLabel = stmt(db, `SELECT * FROM stream_keys WHERE ${working} AND label = ? ORDER BY id`).all(userId, now, text) as KeyRow[];
  if (byLabel.length > 0) return byLabel.map(toKey);
  return (stmt(db, `SELECT * FROM stream_keys WHERE ${working} AND prefix = ? ORDER BY id`).all(userId, now, text) as KeyRow[]).map(toKey);
}

/** Revokes one key at once; returns it as stored now. */
export function revokeKeyNow(db: Db, keyId: number, now: number): StreamKey {
  stmt(db, 'UPDATE stream_keys SET revoked_at = ? WHERE id = ?').run(now, keyId);
  return toKey(stmt(db, 'SELECT * FROM stream_keys WHERE id = ?').get(keyId) as KeyRow);
}

/**
 * Makes every still-working key of the user stop working at `at` (now, or now + grace).
 * A key already set to stop earlier keeps its earlier time. Returns how many keys changed.
 */
export function revokeUserKeys(db: Db, userId: number, at: number): number {
  return stmt(db, 'UPDATE stream_keys SET revoked_at = ? WHERE user_id = ? AND (revoked_at IS NULL OR revoked_at > ?)').run(at, userId, at)
    .changes;
}

/** Records a successful push with this key. */
export function touchKey(db: Db, keyId: number, now: number, ip: string): void {
  stmt(db, 'UPDATE stream_keys SET last_used_at = ?, last_ip = ? WHERE id = ?').run(now, ip, keyId);
}
