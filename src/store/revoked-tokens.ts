// Revoked playback tokens, by their `jti` (`streamctl token revoke`): refused from the revocation on,
// kept until the token could no longer verify anyway (its exp), then pruned.
import type { Db } from './open';
import { stmt } from './statements';

export interface RevokedToken {
  jti: string;
  revokedAt: number;
  /** Unix ms the row may go: the token's exp, or revokedAt + token-max-ttl when no session showed it. */
  until: number;
}

/** Revokes a token id (again: the later `until` wins); returns the stored row. */
export function revokeToken(db: Db, jti: string, until: number, now: number): RevokedToken {
  stmt(
    db,
    'INSERT INTO revoked_tokens (jti, revoked_at, until) VALUES (?, ?, ?) ON CONFLICT(jti) DO UPDATE SET until = max(until, excluded.until)',
  ).run(jti, now, until);
  return stmt(db, 'SELECT jti, revoked_at AS revokedAt, until FROM revoked_tokens WHERE jti = ?').get(jti) as RevokedToken;
}

/** True when the token id is revoked at `now` (the USER_NEW hot path: one indexed lookup, only for tokens with a jti). */
export function isRevoked(db: Db, jti: string, now: number): boolean {
  return stmt(db, 'SELECT 1 FROM revoked_tokens WHERE jti = ? AND until > ?').get(jti, now) !== undefined;
}

/** Revocations still in force (replicated to the edges as sc:revoked), oldest first. */
export function activeRevocations(db: Db, now: number): RevokedToken[] {
  return stmt(db, 'SELECT jti, revoked_at AS revokedAt, until FROM revoked_tokens WHERE until > ? ORDER BY jti').all(now) as RevokedToken[];
}

/** Deletes revocations whose token can no longer verify; returns how many. */
export function pruneRevocations(db: Db, now: number): number {
  return stmt(db, 'DELETE FROM revoked_tokens WHERE until <= ?').run(now).changes;
}
