// The database file as a whole: online backup and integrity checks (`streamctl db backup|check`).
import { realpathSync } from 'node:fs';
import { basename, dirname } from 'node:path';
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

/** SQLite's files beside a database: a hot journal there is rolled back into it (and deleted) by the next writer. */
const SIDECARS = ['-journal', '-wal', '-shm'];

/** A folder's real path where it exists (symlinks followed), so two spellings of one file compare equal. */
function realFolder(path: string): string {
  try {
    return realpathSync(dirname(path));
  } catch {
    return dirname(path);
  }
}

/**
 * Why `target` must not receive a backup of `source`: it is the database or one of its sidecars,
 * whether or not that file exists yet (a backup written as `<db>-journal` is a hot journal the next
 * read-write open plays back and deletes); null when it may.
 */
export function backupTargetProblem(source: string, target: string): string | null {
  const same = (a: string, b: string) => a === b || (realFolder(a) === realFolder(b) && basename(a) === basename(b));
  if (same(target, source)) return `${target} is the database itself`;
  const sidecar = SIDECARS.find((suffix) => same(target, source + suffix));
  if (sidecar)
    return `${target} is the database's ${sidecar.slice(1)} file (SQLite would take a backup there for its own); choose another file`;
  return null;
}

export interface IntegrityReport {
  /** PRAGMA integrity_check's lines; empty when it said ok. */
  integrity: string[];
  /** PRAGMA foreign_key_check's rows: a row whose parent is missing. */
  foreignKeys: { table: string; rowid: number | null; parent: string }[];
}

/** Runs integrity_check and foreign_key_check (read-only; fine on a live database). */
export function checkDatabase(db: Db): IntegrityReport {
  const integrity = (db.pragma('integrity_check') as { integrity_check: string }[])
    .map((r) => r.integrity_check)
    .filter((line) => line !== 'ok');
  const foreignKeys = (db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[]).map((r) => ({
    table: r.table,
    rowid: r.rowid,
    parent: r.parent,
  }));
  return { integrity, foreignKeys };
}
