// Access grants: viewers entitled to a paid channel or on a private channel's allow list.
// Each row is in a set of its channel; only the channel's current set (channels.grant_set) is seen
// or written here. Other sets are a big sync's next set being built, or an old one being deleted
// (db/0015_grant_sets.sql, the staging functions at the end of this file).
import type { Db } from './open';
import { stmt } from './statements';
import { batchWrite, writeWithRetry } from './write-retry';

/** The channel's current set, as an SQL expression of the user id parameter that comes before it. */
const CURRENT = 'coalesce((SELECT grant_set FROM channels WHERE user_id = ?), 0)';

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
    `INSERT INTO access_grants (user_id, set_id, viewer, until, created_at) VALUES (?, ${CURRENT}, ?, ?, ?)
     ON CONFLICT(user_id, set_id, viewer) DO UPDATE SET until = excluded.until`,
  ).run(g.userId, g.userId, g.viewer, g.until, g.now);
}

/** Removes a grant; false when there was none. */
export function deleteGrant(db: Db, userId: number, viewer: string): boolean {
  return (
    stmt(db, `DELETE FROM access_grants WHERE user_id = ? AND set_id = ${CURRENT} AND viewer = ?`).run(userId, userId, viewer).changes > 0
  );
}

/** Grants of a channel, by viewer; expired ones only when asked. */
export function listGrants(db: Db, userId: number, now: number, includeExpired: boolean): Grant[] {
  return (
    stmt(
      db,
      `SELECT * FROM access_grants WHERE user_id = ? AND set_id = ${CURRENT} AND (? OR until IS NULL OR until > ?) ORDER BY viewer`,
    ).all(userId, userId, includeExpired ? 1 : 0, now) as GrantRow[]
  ).map(toGrant);
}

/** The viewer's grant on a channel if it still works at `now`. */
export function findActiveGrant(db: Db, userId: number, viewer: string, now: number): Grant | undefined {
  const r = stmt(
    db,
    `SELECT * FROM access_grants WHERE user_id = ? AND set_id = ${CURRENT} AND viewer = ? AND (until IS NULL OR until > ?)`,
  ).get(userId, userId, viewer, now) as GrantRow | undefined;
  return r && toGrant(r);
}

// Staging: how a big sync replaces a channel's grants without one long write transaction. The next
// set is built invisibly (beginGrantSet, then stageGrants a batch per transaction), made current in
// the sync's final transaction (switchGrantSet, one small UPDATE), and the old set is deleted a
// batch per transaction afterwards (purgeRetiredGrantSets). Every row is in its channel's current
// set or in a set listed in grant_sets, so nothing a crash leaves is seen, and the next sync finds it.

/** What a sync plans a channel's grants against: the current set and its version. */
export interface GrantSetState {
  setId: number;
  version: number;
}

/** The channel's current set and version; undefined without a policy row. */
export function grantSetState(db: Db, userId: number): GrantSetState | undefined {
  return stmt(db, 'SELECT grant_set AS setId, grants_version AS version FROM channels WHERE user_id = ?').get(userId) as
    | GrantSetState
    | undefined;
}

/** Starts the channel's next set (call in a write transaction): an id no row of the channel uses. */
export function beginGrantSet(db: Db, userId: number, now: number): number {
  const { next } = stmt(db, `SELECT max(${CURRENT}, coalesce((SELECT max(set_id) FROM grant_sets WHERE user_id = ?), 0)) + 1 AS next`).get(
    userId,
    userId,
  ) as { next: number };
  stmt(db, "INSERT INTO grant_sets (user_id, set_id, state, created_at) VALUES (?, ?, 'staging', ?)").run(userId, next, now);
  return next;
}

/**
 * Adds rows to a set being built (call in a write transaction); false, writing nothing, when the set
 * is no longer being built (another sync retired it as abandoned: this one must stop).
 */
export function stageGrants(
  db: Db,
  userId: number,
  setId: number,
  rows: { viewer: string; until: number | null; createdAt: number }[],
): boolean {
  const state = stmt(db, 'SELECT state FROM grant_sets WHERE user_id = ? AND set_id = ?').get(userId, setId) as
    | { state: string }
    | undefined;
  if (state?.state !== 'staging') return false;
  const insert = stmt(db, 'INSERT INTO access_grants (user_id, set_id, viewer, until, created_at) VALUES (?, ?, ?, ?, ?)');
  for (const r of rows) insert.run(userId, setId, r.viewer, r.until, r.createdAt);
  return true;
}

/**
 * Makes a staged set the channel's current one (call in a write transaction) if nothing changed
 * since `planned` was read: the same current set at the same version (no `grant add`/`remove`
 * meanwhile) and the staged set still being built. The old set is retired (its rows are deleted
 * by purgeRetiredGrantSets). The UPDATE of channels.grant_set queues the channel's grants for the
 * edges (db/0015). False, changing nothing, when something did change.
 */
export function switchGrantSet(db: Db, userId: number, setId: number, planned: GrantSetState, now: number): boolean {
  const state = grantSetState(db, userId);
  if (!state || state.setId !== planned.setId || state.version !== planned.version) return false;
  const staged = stmt(db, "DELETE FROM grant_sets WHERE user_id = ? AND set_id = ? AND state = 'staging'").run(userId, setId);
  if (staged.changes === 0) return false;
  stmt(db, 'UPDATE channels SET grant_set = ? WHERE user_id = ?').run(setId, userId);
  stmt(
    db,
    "INSERT INTO grant_sets (user_id, set_id, state, created_at) VALUES (?, ?, 'retired', ?) ON CONFLICT DO UPDATE SET state = 'retired'",
  ).run(userId, planned.setId, now);
  return true;
}

/**
 * Retires sets being built that no sync will finish (call in a write transaction): those of the
 * given channels (a sync about to build their next set: the latest sync wins, an older one still
 * running fails at its next step) and every one started before `staleBefore` (a sync that
 * crashed). Returns how many.
 */
export function retireStagingGrantSets(db: Db, userIds: number[], staleBefore: number): number {
  return stmt(
    db,
    "UPDATE grant_sets SET state = 'retired' WHERE state = 'staging' AND (created_at < ? OR user_id IN (SELECT value FROM json_each(?)))",
  ).run(staleBefore, JSON.stringify(userIds)).changes;
}

/** Retires one set being built (call in a write transaction): its sync failed before it became current. */
export function retireGrantSet(db: Db, userId: number, setId: number): void {
  stmt(db, "UPDATE grant_sets SET state = 'retired' WHERE user_id = ? AND set_id = ? AND state = 'staging'").run(userId, setId);
}

/** Whether any set other than the current ones exists (a cheap read before any cleanup write). */
export function hasOtherGrantSets(db: Db): boolean {
  return stmt(db, 'SELECT 1 FROM grant_sets LIMIT 1').get() !== undefined;
}

/**
 * Deletes the rows of retired sets (of the given channels only, with `userIds`), at most `batch`
 * rows per IMMEDIATE transaction (each retried while busy), then their grant_sets rows. Returns the
 * rows deleted.
 */
export function purgeRetiredGrantSets(db: Db, batch: number, userIds?: number[]): number {
  const sets = (
    stmt(db, "SELECT user_id AS userId, set_id AS setId FROM grant_sets WHERE state = 'retired' ORDER BY user_id, set_id").all() as {
      userId: number;
      setId: number;
    }[]
  ).filter((s) => !userIds || userIds.includes(s.userId));
  let deleted = 0;
  for (const { userId, setId } of sets) {
    const del = stmt(
      db,
      'DELETE FROM access_grants WHERE rowid IN (SELECT rowid FROM access_grants WHERE user_id = ? AND set_id = ? LIMIT ?)',
    );
    for (;;) {
      // Never the current set: a set is retired only once another is current, and ids never repeat
      // while a set's rows exist; checked again here so a mistake cannot delete visible grants.
      const n = batchWrite(db, () => (grantSetState(db, userId)?.setId === setId ? 0 : del.run(userId, setId, batch).changes));
      deleted += n;
      if (n < batch) break;
    }
    writeWithRetry(db, () => {
      const left = stmt(db, 'SELECT 1 FROM access_grants WHERE user_id = ? AND set_id = ? LIMIT 1').get(userId, setId);
      if (left === undefined || grantSetState(db, userId)?.setId === setId)
        stmt(db, "DELETE FROM grant_sets WHERE user_id = ? AND set_id = ? AND state = 'retired'").run(userId, setId);
    });
  }
  return deleted;
}
