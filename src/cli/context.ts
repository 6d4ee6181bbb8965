// What every CLI command gets: the database (opened and migrated on first use), output helpers, a clock.
import { databasePath } from '../config';
import { migrate } from '../store/migrate';
import { openForCli, type Db } from '../store/open';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export interface CliContext extends CliIo {
  /** The database, created and migrated on first use. */
  db(): Db;
  /** Path of the database in use. */
  dbPath(): string;
  /** Prints a value as JSON (stable field names, snake_case). */
  json(value: unknown): void;
  now(): number;
  /** Closes the database if it was opened. */
  close(): void;
}

/** Builds the context; nothing is opened until a command asks for the database. */
export function createContext(io: CliIo): CliContext {
  let db: Db | undefined;
  return {
    ...io,
    db() {
      if (!db) {
        db = openForCli(databasePath());
        migrate(db);
      }
      return db;
    },
    dbPath: databasePath,
    json(value) {
      io.out(JSON.stringify(value, null, 2) + '\n');
    },
    now: () => Date.now(),
    close() {
      db?.close();
      db = undefined;
    },
  };
}
