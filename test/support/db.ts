// An in-memory database migrated like a real one, for tests that call domain code and trigger
// decisions directly (no process, no file). Same pragmas the store sets on a real file that matter
// for behaviour (foreign keys); WAL and synchronous have no meaning in memory.
import Database from 'better-sqlite3';
import { migrate } from '../../src/store/migrate';
import type { Db } from '../../src/store/open';

/** A fresh, migrated in-memory database. */
export function memoryDb(): Db {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

/** Rows of a read-only statement, for asserting what was stored. */
export function rows<T = Record<string, unknown>>(db: Db, sql: string, ...args: unknown[]): T[] {
  return db.prepare(sql).all(...args) as T[];
}

/** The first row of a statement, or undefined. */
export function row<T = Record<string, unknown>>(db: Db, sql: string, ...args: unknown[]): T | undefined {
  return db.prepare(sql).get(...args) as T | undefined;
}

/**
 * One statement on a database file, on its own connection (closed after): rows for a query, the
 * run result otherwise. For planting what the CLI
 * refuses to write (a missing policy row, a damaged page) and reading what a program stored.
 */
export function sqlOnFile(path: string, statement: string, ...args: unknown[]): any {
  const d = new Database(path);
  try {
    const s = d.prepare(statement);
    return s.reader ? s.all(...args) : s.run(...args);
  } finally {
    d.close();
  }
}
