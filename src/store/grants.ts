// Access grants: viewers entitled to a paid channel or on a private channel's allow list.
import type { Db } from './open';
import { stmt } from './statements';

export interface Grant {
  userId: number;
  viewer: string;
  /** Grant stops working at this time; null = until removed. */
  until: number | null;
  createdAt: number;
}

interface GrantRow {
  user_id: number;
  viewer: string;
  until: number | null;
  created_at: number;
}

const toGrant = (r: GrantRow): Grant => ({ userId: r.user_id, viewer: r.viewer, until: r.until, createdAt: r.created_at });

/** Adds a grant, or changes the end time of an existing one. */
export function upsertGrant(db: Db, g: { userId: number; viewer: string; until: number | null; now: number }): void {
  stmt(
    db,
    `INSERT INTO access_grants (user_id, viewer, until, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT(user_id, viewer) DO UPDATE SET until = excluded.until`,
  ).run(g.userId, g.viewer, g.until, g.now);
}

/** Removes a grant; false when there was none. */
export function deleteGrant(db: Db, userId: number, viewer: string): boolean {
  return stmt(db, 'DELETE FROM access_grants WHERE user_id = ? AND viewer = ?').run(userId, viewer).changes > 0;
}

/** Grants of a channel, by viewer; expired ones only when asked. */
export function listGrants(db: Db, userId: number, now: number, includeExpired: boolean): Grant[] {
  return (
    stmt(db, 'SELECT * FROM access_grants WHERE user_id = ? AND (? OR until IS NULL OR until > ?) ORDER BY viewer').all(
      userId,
      includeExpired ? 1 : 0,
      now,
    ) as GrantRow[]
  ).map(toGrant);
}

/** The viewer's grant on a channel if it still works at `now`. */
export function findActiveGrant(db: Db, userId: number, viewer: string, now: number): Grant | undefined {
  const r = stmt(db, 'SELECT * FROM access_grants WHERE user_id = ? AND viewer = ? AND (until IS NULL OR until > ?)').get(
    userId,
    viewer,
    now,
  ) as GrantRow | undefined;
  return r && toGrant(r);
}
