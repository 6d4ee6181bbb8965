// Statements are prepared once per connection and reused: better-sqlite3 compiles the SQL on every
// prepare(), which costs more than running most of our queries (the CLI and tests run many per
// connection; a trigger run pays one Map lookup). Statements used with iterate() are not cached:
// an iterator left unfinished keeps its statement busy.
import type Database from 'better-sqlite3';
import type { Db } from './open';

type Statement = Database.Statement<unknown[], unknown>;

const byConnection = new WeakMap<Db, Map<string, Statement>>();

/** The prepared statement for `sql` on this connection, compiled on first use. */
export function stmt(db: Db, sql: string): Statement {
  let statements = byConnection.get(db);
  if (!statements) {
    statements = new Map();
    byConnection.set(db, statements);
  }
  let s = statements.get(sql);
  if (!s) {
    s = db.prepare(sql);
    statements.set(sql, s);
  }
  return s;
}
