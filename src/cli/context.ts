// What every CLI command gets: the database (opened and migrated on first use), output helpers, a clock.
import { readSync } from 'node:fs';
import { databasePath } from '../config';
import { EXIT } from '../lib/errors';
import { migrate } from '../store/migrate';
import { openForCli, type Db } from '../store/open';
import { readStdinToEnd, stdinIsTerminal } from './stdio';

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
  /**
   * Everything on stdin up to EOF (a secret, a sync document), however slowly it arrives. When
   * stdin is a terminal, `prompt` goes to stderr first. Throws a StdioError when it cannot be read.
   */
  readStdin(prompt: string): string;
  /**
   * Asks a yes/no question when a person is there to answer (stdin and stderr are a terminal):
   * true for y/yes. null when nobody can be asked (a script, a pipe, cron): the caller then needs
   * an explicit flag such as --yes.
   */
  confirm(question: string): boolean | null;
  /** False when a test in process asked doctor not to start the trigger programs (ContextOptions). */
  runTriggerPrograms: boolean;
  /** Closes the database if it was opened. */
  close(): void;
}

/** What a caller other than bin/streamctl may supply (tests run the program in process). */
export interface ContextOptions {
  /** Database file instead of STREAMCTL_DB / streamctl.conf. */
  dbPath?: string;
  /** An already open database (e.g. in memory): migrated on first use, never closed here. */
  db?: Db;
  /** The clock commands use. */
  now?: () => number;
  /**
   * False: doctor skips its "programs run" check, which starts every trigger program (~1 s per
   * doctor run). For tests about doctor's other checks; bin/streamctl never sets it.
   */
  runTriggerPrograms?: boolean;
  /** What stdin holds, for a caller in process (tests); bin/streamctl reads fd 0. */
  stdin?: string;
  /** What a person at a terminal types at each confirm() question (tests); without it, a terminal is asked. */
  terminalAnswers?: string[];
}

/** One line typed at the terminal (fd 0 blocks on a terminal: a read returns at the end of a line). */
function readTerminalLine(): string {
  const buf = Buffer.alloc(256);
  let line = '';
  for (;;) {
    const n = readSync(0, buf, 0, buf.length, null);
    if (n === 0) return line;
    line += buf.toString('utf8', 0, n);
    if (line.includes('\n')) return line.slice(0, line.indexOf('\n'));
  }
}

/** Builds the context; nothing is opened until a command asks for the database. */
export function createContext(io: CliIo, options: ContextOptions = {}): CliContext {
  const given = options.db;
  const path = options.dbPath !== undefined ? () => options.dbPath! : databasePath;
  let db: Db | undefined;
  let printed = false;
  let code: number = EXIT.ok;
  return {
    ...io,
    db() {
      if (!db) {
        db = given ?? openForCli(path());
        migrate(db);
      }
      return db;
    },
    dbPath: given ? () => given.name : path,
    json(value) {
      printed = true;
      io.out(JSON.stringify(value, null, 2) + '\n');
    },
    printedJson: () => printed,
    answerNo() {
      code = EXIT.no;
    },
    exitCode: () => code,
    now: options.now ?? (() => Date.now()),
    readStdin(prompt) {
      if (options.stdin !== undefined) return options.stdin;
      if (stdinIsTerminal()) io.err(prompt);
      return readStdinToEnd();
    },
    confirm(question) {
      const answers = options.terminalAnswers;
      let answer: string;
      if (answers !== undefined) {
        io.err(`${question} [y/N] `);
        answer = answers.shift() ?? '';
      } else {
        if (options.stdin !== undefined || !process.stdin.isTTY || !process.stderr.isTTY) return null;
        io.err(`${question} [y/N] `);
        try {
          answer = readTerminalLine();
        } catch {
          return false;
        }
      }
      return /^\s*y(es)?\s*$/i.test(answer);
    },
    runTriggerPrograms: options.runTriggerPrograms ?? true,
    close() {
      if (db !== given) db?.close();
      db = undefined;
    },
  };
}
