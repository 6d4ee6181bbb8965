// Users (channels): one row per broadcaster of the site.
import type { Db } from './open';
import { insertDefaultChannel } from './channels';
import { stmt } from './statements';

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
export function insertUser(
  db: Db,
  u: { name: string; displayName: string | null; externalId: string | null; now: number },
): User {
  const info = stmt(db, 'INSERT INTO users (name, display_name, external_id, created_at) VALUES (?, ?, ?, ?)')
    .run(u.name, u.displayName, u.externalId, u.now);
  // The policy row is part of the user: without it the channel refuses viewers (see getChannel).
  insertDefaultChannel(db, Number(info.lastInsertRowid), u.now);
  return findUserById(db, Number(info.lastInsertRowid))!;
}

/** Enables or disables a user's channel. */
export function setUserDisabled(db: Db, id: number, disabled: boolean): void {
  stmt(db, 'UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, id);
}

/** Deletes a user; their keys go with them (ON DELETE CASCADE). */
export function deleteUser(db: Db, id: number): void {
  stmt(db, 'DELETE FROM users WHERE id = ?').run(id);
}
