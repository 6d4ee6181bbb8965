// Applies db/NNNN_*.sql forward-only, each in its own transaction with user_version bumped inside it,
// so a crash leaves the database at the last whole migration and a rerun continues from there.
import type { Db } from './open';
import { schemaVersion } from './open';
import { knownMigrations, type Migration } from './migrations';

/** Applies every migration newer than the database; returns the ones applied. Idempotent. */
export function migrate(db: Db, migrations: Migration[] = knownMigrations()): Migration[] {
  const applied: Migration[] = [];
  for (const m of migrations) {
    if (m.version <= schemaVersion(db)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    applied.push(m);
  }
  return applied;
}
