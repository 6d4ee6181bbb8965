// The schema version this build needs. Kept apart from the migrations themselves so the
// trigger bundles carry one number, not the SQL.
import { readMigrationsFromDisk } from './migrations';

declare const __SCHEMA_VERSION__: number | undefined;

/** Highest migration number known to this build. */
export function requiredSchemaVersion(): number {
  if (typeof __SCHEMA_VERSION__ !== 'undefined') return __SCHEMA_VERSION__;
  const all = readMigrationsFromDisk();
  return all.length ? all[all.length - 1]!.version : 0;
}
