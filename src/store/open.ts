// Opening the database: pragmas, the trigger's fail-closed checks, the CLI's auto-migration.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { nativeBinding } from '../config';
import { oneLine, SchemaError, UserError } from '../lib/errors';
import { createDatabaseFile } from './db-file';
import { requiredSchemaVersion } from './schema-version';

export type Db = Database.Database;

/** A blocking trigger must answer far inside MistServer's 10 s kill, even when the CLI holds a write lock. */
export const TRIGGER_BUSY_TIMEOUT_MS = 2000;
const CLI_BUSY_TIMEOUT_MS = 5000;

function open(path: string, mustExist: boolean, busyTimeoutMs: number): Db {
  // better-sqlite3 also takes an already loaded addon (the standalone executable's); its types say string only.
  const db = new Database(path, { fileMustExist: mustExist, nativeBinding: nativeBinding() as string | undefined });
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma('foreign_keys = ON');
  // WAL is persistent in the file (set by the CLI); NORMAL is safe under WAL and skips an fsync per commit.
  db.pragma('synchronous = NORMAL');
  return db;
}

/** The schema version a database is at. */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** For trigger programs: never creates or migrates; a missing or old database is a SchemaError. */
export function openForTrigger(path: string): Db {
  if (!existsSync(path)) throw new SchemaError(`database ${path} does not exist; run 'streamctl db migrate'`);
  const db = open(path, true, TRIGGER_BUSY_TIMEOUT_MS);
  const have = schemaVersion(db);
  const need = requiredSchemaVersion();
  if (have < need) {
    db.close();
    throw new SchemaError(`database ${path} is at schema ${have}, this build needs ${need}; run 'streamctl db migrate'`);
  }
  return db;
}

/**
 * Creates the folders of `dir` one level at a time. Node's recursive mkdir loops for ever where
 * the kernel answers ENOENT to every mkdir (under /proc: seen at 77 % CPU for 10 minutes).
 */
function makeFolders(dir: string): void {
  const missing: string[] = [];
  let at = dir;
  while (!existsSync(at)) {
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  if (existsSync(at) && !statSync(at).isDirectory()) throw new UserError(`cannot create the database folder ${dir}: ${at} is not a folder`);
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (err) {
      throw new UserError(`cannot create the database folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)} at ${folder}`);
    }
  }
}

/**
 * For the CLI; the caller migrates. Only set-up commands (`db migrate`, init) pass `create`:
 * everywhere else a missing file is a mistyped path (`STREAMCTL_DB=/tmp/typo.db
 * streamctl user list` printed "no users yet" from a new empty database), so it is named and refused.
 */
export function openForCli(path: string, opts: { create?: boolean } = {}): Db {
  if (path !== ':memory:') {
    if (opts.create) makeFolders(dirname(path));
    else if (!existsSync(path)) {
      throw new UserError(
        `database ${path} does not exist (check STREAMCTL_DB or the installed config's db=); 'streamctl db migrate' creates it`,
      );
    }
  }
  // SQLite would create it 0644 (minus umask): readable by every local user, secret included.
  if (path !== ':memory:' && opts.create) createDatabaseFile(path);
  const db = open(path, !opts.create && path !== ':memory:', CLI_BUSY_TIMEOUT_MS);
  db.pragma('journal_mode = WAL');
  return db;
}

/** For checks (`doctor`): opens an existing database read-only; never creates or migrates it. */
export function openReadOnly(path: string): Db {
  const db = new Database(path, { readonly: true, fileMustExist: true, nativeBinding: nativeBinding() as string | undefined });
  db.pragma(`busy_timeout = ${CLI_BUSY_TIMEOUT_MS}`);
  return db;
}
