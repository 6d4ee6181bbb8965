// The database file as a whole: online backup and integrity checks (`streamctl db backup|check`).
import type { Db } from './open';

/** sqlite3_backup_step's page count per step: all of them, so the copy is one consistent snapshot. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies the database into `file` with SQLite's online backup API. The copy is taken in one step
 * under a read transaction: in WAL mode writers (the triggers) go on meanwhile, and a write during
 * the copy can never make it restart or mix two states.
 */
export async function backupDatabase(db: Db, file: string): Promise<{ pages: number }> {
  const r = await db.backup(file, { progress: () => ALL_PAGES });
  return { pages: r.totalPages };
}

export interface IntegrityReport {
  /** PRAGMA integrity_check's lines; empty when it said ok. */
  integrity: string[];
  /** PRAGMA foreign_key_check's rows: a row whose parent is missing. */
  foreignKeys: { table: string; rowid: number | null; parent: string }[];
}

/** Runs integrity_check and foreign_key_check (read-only; fine on a live database). */
export function checkDatabase(db: Db): IntegrityReport {
  const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((line) => line !== 'ok');
  const foreignKeys = (db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[]).map((r) => ({
    table: r.table,
    rowid: r.rowid,
    parent: r.parent,
  }));
  return { integrity, foreignKeys };
}
