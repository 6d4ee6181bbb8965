// What every CLI command gets: the database (opened and migrated on first use), output helpers, a clock.
import { databasePath } from '../config';
import { EXIT } from '../lib/errors';
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
  /** Prints a value as JSON (stable field names, snake_case; shapes in schemas/, docs/json.md). */
  json(value: unknown): void;
  /** True once json() has printed (so a later failure does not print a second JSON document). */
  printedJson(): boolean;
  /** Ends the command with exit 1 without an error line: a negative answer already printed. */
  answerNo(): void;
  /** The exit code the command asked for (0 unless answerNo was called). */
  exitCode(): number;
  now(): number;
  /** Closes the database if it was opened. */
  close(): void;
}

/** Builds the context; nothing is opened until a command asks for the database. */
export function createContext(io: CliIo): CliContext {
  let db: Db | undefined;
  let printed = false;
  let code: number = EXIT.ok;
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
      printed = true;
      io.out(JSON.stringify(value, null, 2) + '\n');
    },
    printedJson: () => printed,
    answerNo() {
      code = EXIT.no;
    },
    exitCode: () => code,
    now: () => Date.now(),
    close() {
      db?.close();
      db = undefined;
    },
  };
}
