// Users (channels): one row per broadcaster of the site.
import type { Db } from './open';
import { insertDefaultChannel } from './channels';
import { stmt } from './statements';
import { writeWithRetry } from './write-retry';

export interface User {
  id: number;
  name: string;
  displayName: string | null;
  externalId: string | null;
  disabled: boolean;
  createdAt: number;
}

interface UserRow {
  id: number;
  name: string;
  display_name: string | null;
  external_id: string | null;
  disabled: number;
  created_at: number;
}

const COLUMNS = 'id, name, display_name, external_id, disabled, created_at';

function toUser(r: UserRow): User {
  return {
    id: r.id,
    name: r.name,
    displayName: r.display_name,
    externalId: r.external_id,
    disabled: r.disabled === 1,
    createdAt: r.created_at,
  };
}

/** The user with this canonical name, if any. */
export function findUserByName(db: Db, name: string): User | undefined {
  const r = stmt(db, `SELECT ${COLUMNS} FROM users WHERE name = ?`).get(name) as UserRow | undefined;
  return r && toUser(r);
}

/** The user with this id, if any. */
export function findUserById(db: Db, id: number): User | undefined {
  const r = stmt(db, `SELECT ${COLUMNS} FROM users WHERE id = ?`).get(id) as UserRow | undefined;
  return r && toUser(r);
}

/** The user linked to this id of the site's own user table, if any. */
export function findUserByExternalId(db: Db, externalId: string): User | undefined {
  const r = stmt(db, `SELECT ${COLUMNS} FROM users WHERE external_id = ?`).get(externalId) as UserRow | undefined;
  return r && toUser(r);
}

/** All users, by name. */
export function listUsers(db: Db): User[] {
  return (stmt(db, `SELECT ${COLUMNS} FROM users ORDER BY name`).all() as UserRow[]).map(toUser);
}

/** Inserts a user and its channel policy row; the name must already be validated and canonical. */
export function insertUser(db: Db, u: { name: string; displayName: string | null; externalId: string | null; now: number }): User {
  const info = stmt(db, 'INSERT INTO users (name, display_name, external_id, created_at) VALUES (?, ?, ?, ?)').run(
    u.name,
    u.displayName,
    u.externalId,
    u.now,
  );
  // The policy row is part of the user: without it the channel refuses viewers (see getChannel).
  insertDefaultChannel(db, Number(info.lastInsertRowid), u.now);
  return findUserById(db, Number(info.lastInsertRowid))!;
}

/** Enables or disables a user's channel. */
export function setUserDisabled(db: Db, id: number, disabled: boolean): void {
  stmt(db, 'UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, id);
}

/** Rows per transaction when removing a user's history: each batch holds the write lock briefly. */
export const REMOVAL_BATCH = 2000;

/**
 * A user's history, most numerous first, as (table, what removal does). Removed before the user
 * row in batches: one cascading DELETE held the write lock for as long as the history was long,
 * while triggers waited. Events keep their rows with the user cleared (ON DELETE SET NULL).
 */
const HISTORY: { table: string; clear?: boolean }[] = [
  { table: 'viewer_sessions' },
  { table: 'session_ends' },
  { table: 'buffer_events' },
  { table: 'stream_ends' },
  { table: 'broadcasts' },
  { table: 'events', clear: true },
  { table: 'access_grants' },
  { table: 'bans' },
  { table: 'stream_keys' },
];

/**
 * Deletes a user with their history, REMOVAL_BATCH rows per IMMEDIATE transaction (each retried
 * while busy); `onBatch` is called after each. The user row goes last, in a transaction of its
 * own (ON DELETE CASCADE takes whatever is left). Recordings must be removed first (their files).
 */
export function deleteUser(db: Db, id: number, onBatch: (rows: number) => void = () => {}): void {
  for (const { table, clear } of HISTORY) {
    const sql = clear
      ? `UPDATE ${table} SET user_id = NULL WHERE rowid IN (SELECT rowid FROM ${table} WHERE user_id = ? LIMIT ?)`
      : `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE user_id = ? LIMIT ?)`;
    for (;;) {
      const n = writeWithRetry(db, () => stmt(db, sql).run(id, REMOVAL_BATCH).changes);
      if (n === 0) break;
      onBatch(n);
    }
  }
  writeWithRetry(db, () => stmt(db, 'DELETE FROM users WHERE id = ?').run(id));
  onBatch(1);
}

/** Sets the fields the site owns (display name, external id, disabled). */
export function updateUserFields(
  db: Db,
  id: number,
  u: { displayName: string | null; externalId: string | null; disabled: boolean },
): void {
  stmt(db, 'UPDATE users SET display_name = ?, external_id = ?, disabled = ? WHERE id = ?').run(
    u.displayName,
    u.externalId,
    u.disabled ? 1 : 0,
    id,
  );
}
